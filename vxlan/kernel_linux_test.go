package vxlan

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/switchyard/switchyard/nsutil/nstest"
	vswitch "github.com/switchyard/switchyard/switch"
	"github.com/switchyard/switchyard/tap"
)

// underlay links two new namespaces with a veth pair addressed
// 192.168.77.1/24 and .2/24 and returns their names.
func underlay(t *testing.T) (string, string) {
	t.Helper()
	a, b := nstest.Veth(t, "ul0")
	for i, ns := range []string{a, b} {
		nstest.Run(t, ns, "ip", "addr", "add", fmt.Sprintf("192.168.77.%d/24", i+1), "dev", "ul0")
	}
	return a, b
}

// TestKernelVXLANInterop exchanges traffic between a Linux vxlan device
// (static FDB, nolearning) and an endpoint behind a switchyard tunnel:
// ping both ways, including a full-MTU packet that must not fragment.
func TestKernelVXLANInterop(t *testing.T) {
	for _, dstport := range []int{DefaultPort, LinuxPort} {
		t.Run(fmt.Sprint(dstport), func(t *testing.T) { testKernelInterop(t, dstport) })
	}
}

func testKernelInterop(t *testing.T, dstport int) {
	kern, under := underlay(t)
	ep := nstest.NewNetns(t)
	nstest.Run(t, kern, "ip", "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", fmt.Sprint(dstport),
		"local", "192.168.77.1", "dev", "ul0", "nolearning")
	nstest.Run(t, kern, "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", "192.168.77.2")
	nstest.Run(t, kern, "ip", "addr", "add", "10.42.0.1/24", "dev", "vx0")
	nstest.Run(t, kern, "ip", "link", "set", "vx0", "up")
	if mtu := nstest.Run(t, kern, "cat", "/sys/class/net/vx0/mtu"); mtu != fmt.Sprint(1500-Overhead) {
		t.Fatalf("kernel vxlan MTU %s, want %d: Overhead disagrees with Linux", mtu, 1500-Overhead)
	}

	s, err := Listen(Config{Netns: nstest.Path(under), Addr: netip.MustParseAddr("192.168.77.2"), Port: dstport})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tu, err := s.Tunnel(TunnelConfig{VNI: 42})
	if err != nil {
		t.Fatal(err)
	}
	if err := tu.SetPeers([]netip.Addr{netip.MustParseAddr("192.168.77.1")}); err != nil {
		t.Fatal(err)
	}
	sw := vswitch.New(vswitch.Config{Name: "overlay"})
	defer sw.Close()
	if _, err := sw.AddPort(tu, vswitch.PortConfig{}); err != nil {
		tu.Close()
		t.Fatal(err)
	}
	dev, err := tap.Open(tap.Config{Netns: nstest.Path(ep), Name: "eth0", MTU: 1500 - Overhead,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.42.0.2/24")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sw.AddPort(dev, vswitch.PortConfig{}); err != nil {
		dev.Close()
		t.Fatal(err)
	}
	nstest.Run(t, kern, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.42.0.2")
	nstest.Run(t, ep, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.42.0.1")
	// 1450-byte IP packets: 1422 bytes of ICMP payload, don't fragment.
	nstest.Run(t, ep, "ping", "-c", "2", "-W", "2", "-M", "do", "-s", "1422", "10.42.0.1")
	es := tu.Entries()
	if len(es) != 1 || es[0].VTEP != netip.MustParseAddr("192.168.77.1") {
		t.Fatalf("tunnel table %+v, want the kernel device's MAC behind 192.168.77.1", es)
	}
	if st := s.Stats(); st.RxBad != 0 {
		t.Fatalf("socket stats %+v: the kernel's datagrams were refused", st)
	}
}
