package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/capture"
	"github.com/switchyard/switchyard/nsutil/nstest"
	vswitch "github.com/switchyard/switchyard/switch"
)

// TestUplinkCapture: capture shows the uplink as its own port, named
// after the parent: a LAN host's echo request enters there and the
// endpoint's reply leaves there.
func TestUplinkCapture(t *testing.T) {
	lan := nstest.NewNetns(t)
	parent, _ := hostVeth(t, lan)
	nstest.Run(t, lan, "ip", "addr", "add", "192.168.155.1/24", "dev", "eth0")
	l := startDaemon(t)
	l.uplinkNetwork(api.NetworkCreate{Name: "lan", Parent: parent, Subnet: "192.168.155.0/24", Gateway: "192.168.155.1"})
	ep := l.attachReq("lan", api.EndpointCreate{Netns: nstest.NewNetns(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	body, err := l.c.Capture(ctx, api.CaptureRequest{Network: "lan", Ports: []string{parent}, Filter: "icmp", Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	go nstest.Exec(lan, "ping", "-c", "3", "-i", "0.3", "-W", "1", addrOf(ep))
	r := capture.NewStreamReader(body)
	var announced bool
	var seen []string
	for len(seen) < 2 {
		f, end, err := r.Next()
		if err != nil || (end != nil && end.Final) {
			t.Fatalf("capture ended after %v: %v", seen, err)
		}
		switch {
		case end != nil:
		case f.OrigLen < 0:
			announced = announced || f.Port == parent
		default:
			p := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
			ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if !ok || f.Port != parent {
				t.Fatalf("frame on port %q: %v", f.Port, p)
			}
			dir := "in"
			if f.Dir != vswitch.In {
				dir = "out"
			}
			seen = append(seen, ic.TypeCode.String()+" "+dir)
		}
	}
	if !announced || seen[0] != "EchoRequest in" || seen[1] != "EchoReply out" {
		t.Errorf("capture on the uplink: port announced %v, frames %v; want the request in and the reply out", announced, seen)
	}
}
