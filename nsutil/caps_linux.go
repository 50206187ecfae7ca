package nsutil

import "golang.org/x/sys/unix"

// HasCap reports whether capability c (unix.CAP_*) is in the calling
// thread's effective set.
func HasCap(c uint) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return false
	}
	return data[c/32].Effective&(1<<(c%32)) != 0
}

// MissingNetCaps names the capabilities setting up endpoints needs that
// the process lacks: CAP_NET_ADMIN (TAPs, addresses, routes) and
// CAP_SYS_ADMIN (entering network namespaces).
func MissingNetCaps() []string {
	var missing []string
	for _, c := range []struct {
		c    uint
		name string
	}{{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}} {
		if !HasCap(c.c) {
			missing = append(missing, c.name)
		}
	}
	return missing
}
