package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

// dhcpFrame wraps a client message from srcMAC in a broadcast
// Ethernet/IPv4/UDP frame (UDP checksum 0: none, as IPv4 allows).
func dhcpFrame(srcMAC net.HardwareAddr, msg *dhcpv4.DHCPv4) []byte {
	payload := msg.ToBytes()
	b := make([]byte, 14+20+8, 14+20+8+len(payload))
	copy(b, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:], srcMAC)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	copy(ip[16:], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	udp := b[34:]
	binary.BigEndian.PutUint16(udp[0:], 68)
	binary.BigEndian.PutUint16(udp[2:], 67)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func randomMAC() net.HardwareAddr {
	m := make(net.HardwareAddr, 6)
	rand.Read(m)
	m[0] = m[0]&0xfe | 0x02
	return m
}

// starve sends, from one port, DISCOVERs and INIT-REBOOT REQUESTs for
// every address of 10.231.0.0/24 with random client hardware addresses;
// with randomSrc each frame also has its own source MAC.
func starve(t *testing.T, ns string, own net.HardwareAddr, randomSrc bool, clients int) {
	t.Helper()
	var frames [][]byte
	for i := range clients {
		chaddr := randomMAC()
		src := own
		if randomSrc {
			src = chaddr
		}
		disc, _ := dhcpv4.NewDiscovery(chaddr)
		frames = append(frames, dhcpFrame(src, disc))
		want := net.IPv4(10, 231, 0, byte(2+i%253))
		req, _ := dhcpv4.New(dhcpv4.WithHwAddr(chaddr), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(want)))
		frames = append(frames, dhcpFrame(src, req))
	}
	sendRaw(t, ns, "eth0", frames)
}

// TestDHCPStarvation: 300 DHCP clients with random MACs from a locked
// endpoint and 300 from one without port security cannot make attach or
// attach --ip fail, nor keep an --dhcp endpoint from its address.
func TestDHCPStarvation(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		nstest.Skip(t, "needs busybox (udhcpc)")
	}
	l := startDaemon(t)
	ctx := context.Background()
	n, err := l.c.CreateNetwork(ctx, api.NetworkCreate{Name: "dyn", Subnet: "10.231.0.0/24", DHCPRange: "10.231.0.200-10.231.0.239"})
	if err != nil || !n.DHCP || n.DHCPRange != "10.231.0.200-10.231.0.239" {
		t.Fatalf("create: %+v %v", n, err)
	}
	attacker, openNS := nstest.NewNetns(t), nstest.NewNetns(t)
	a := l.attach("dyn", attacker, "")
	l.attachWith("dyn", api.EndpointCreate{Netns: openNS, NoPortSecurity: true})
	amac, _ := net.ParseMAC(a.MAC)
	starve(t, attacker, amac, false, 300)
	starve(t, openNS, nil, true, 300)

	var st api.DHCPStats
	for range 50 {
		all, _ := l.c.Stats(ctx)
		for _, ns := range all.Networks {
			if ns.Network == "dyn" {
				st = ns.DHCP
			}
		}
		if st.Discovers+st.Requests >= 1100 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The locked port holds at most 4 leases (dhcp.DefaultMaxPerSource),
	// the open one at most the range: 40 addresses.
	if st.Discovers+st.Requests < 1000 || st.SourceCapped == 0 || st.Leases > 4+40 || st.Leases < 40 {
		t.Fatalf("DHCP after the starvation attempt: %+v", st)
	}
	// attach (lowest free) and attach --ip still work, and neither gets a
	// range address.
	ep := l.attach("dyn", nstest.NewNetns(t), "")
	if ep.IP != "10.231.0.4/24" {
		t.Fatalf("attach after the flood got %s, want 10.231.0.4/24", ep.IP)
	}
	l.attach("dyn", nstest.NewNetns(t), "10.231.0.150")
	if _, err := l.c.Attach(ctx, "dyn", api.EndpointCreate{Netns: nstest.NewNetns(t), IP: "10.231.0.210"}); err == nil ||
		!strings.Contains(err.Error(), "DHCP range") {
		t.Fatalf("attach --ip inside the DHCP range: %v", err)
	}
	// An --dhcp endpoint gets its reserved address from a real client.
	c := nstest.NewNetns(t)
	cep := l.attachWith("dyn", api.EndpointCreate{Netns: c, DHCP: true})
	env := filepath.Join(t.TempDir(), "env")
	script := filepath.Join(t.TempDir(), "script")
	os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = bound ] && echo \"$ip\" > "+env+"\nexit 0\n"), 0o755)
	if out, err := nstest.Exec(c, busybox, "udhcpc", "-i", "eth0", "-q", "-n", "-t", "5", "-T", "1", "-s", script); err != nil {
		t.Fatalf("udhcpc: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(env); strings.TrimSpace(string(got))+"/24" != cep.IP {
		t.Fatalf("udhcpc got %q, want %s", got, cep.IP)
	}
}

// TestDHCPNetworkOptions checks the DHCP fields of network create.
func TestDHCPNetworkOptions(t *testing.T) {
	l := startDaemon(t)
	ctx := context.Background()
	nets, _ := l.c.Networks(ctx)
	if len(nets) != 1 || nets[0].DHCP {
		t.Fatalf("default network has DHCP on without up --dhcp: %+v", nets)
	}
	if _, err := l.c.Attach(ctx, "default", api.EndpointCreate{Netns: nstest.NewNetns(t), DHCP: true}); err == nil {
		t.Fatal("attach --dhcp on a network without DHCP succeeded")
	}
	cases := []struct {
		req  api.NetworkCreate
		want string // DHCPRange; "error" for a refusal, "off" for DHCP off
	}{
		{api.NetworkCreate{Subnet: "10.232.0.0/24"}, "10.232.0.192-10.232.0.254"},
		{api.NetworkCreate{Subnet: "10.232.1.0/24", DHCPRange: "10.232.1.128/26"}, "10.232.1.128-10.232.1.191"},
		{api.NetworkCreate{Subnet: "10.232.2.0/24", DHCP: "off"}, "off"},
		{api.NetworkCreate{Subnet: "10.232.3.0/30"}, ""},
		{api.NetworkCreate{Subnet: "10.232.4.0/24", DHCPRange: "10.232.5.0/26"}, "error"},
		{api.NetworkCreate{Subnet: "10.232.4.0/24", DHCPRange: "10.232.4.9-10.232.4.3"}, "error"},
		{api.NetworkCreate{Subnet: "10.232.4.0/24", DHCP: "off", DHCPRange: "10.232.4.0/26"}, "error"},
		{api.NetworkCreate{Subnet: "10.232.4.0/24", DHCP: "maybe"}, "error"},
	}
	for i, tc := range cases {
		tc.req.Name = "n" + string(rune('a'+i))
		n, err := l.c.CreateNetwork(ctx, tc.req)
		switch {
		case tc.want == "error":
			if err == nil {
				t.Errorf("%+v accepted", tc.req)
			}
		case err != nil:
			t.Errorf("%+v: %v", tc.req, err)
		case tc.want == "off" && n.DHCP, tc.want != "off" && (!n.DHCP || n.DHCPRange != tc.want):
			t.Errorf("%+v: DHCP %v range %q, want %q", tc.req, n.DHCP, n.DHCPRange, tc.want)
		}
	}
}
