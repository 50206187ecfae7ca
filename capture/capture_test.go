package capture

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/switchyard/switchyard/port"
	vswitch "github.com/switchyard/switchyard/switch"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 0xb}
)

func build(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tcpFrame(t testing.TB) []byte {
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, SYN: true, Seq: 7, Window: 64240}
	tcp.SetNetworkLayerForChecksum(ip)
	return build(t, eth, ip, tcp)
}

func TestFormatLines(t *testing.T) {
	ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	icmpIP := *ip
	icmpIP.Protocol = layers.IPProtocolICMPv4
	udpIP := *ip
	udpIP.Protocol = layers.IPProtocolUDP
	dnsUDP := &layers.UDP{SrcPort: 5555, DstPort: 53}
	dnsUDP.SetNetworkLayerForChecksum(&udpIP)
	dns := &layers.DNS{ID: 42, Questions: []layers.DNSQuestion{{Name: []byte("web.blue"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
	dhcpUDP := &layers.UDP{SrcPort: 68, DstPort: 67}
	dhcpUDP.SetNetworkLayerForChecksum(&udpIP)
	dhcp := &layers.DHCPv4{Operation: layers.DHCPOpRequest, HardwareType: layers.LinkTypeEthernet, Xid: 0x1234, ClientHWAddr: macA,
		Options: []layers.DHCPOption{layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(layers.DHCPMsgTypeDiscover)})}}
	cases := []struct {
		frame []byte
		want  string
	}{
		{tcpFrame(t), "IP 10.0.0.1.40000 > 10.0.0.2.80: TCP [S] seq 7 win 64240 len 0"},
		{build(t, &layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: []byte{10, 0, 0, 1},
				DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}}), "ARP, Request who-has 10.0.0.2 tell 10.0.0.1"},
		{build(t, eth, &icmpIP, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 3, Seq: 9}), "ICMP echo request, id 3, seq 9"},
		{build(t, eth, &udpIP, dnsUDP, dns), "DNS id 42 query A web.blue?"},
		{build(t, eth, &udpIP, dhcpUDP, dhcp), "DHCP Discover, xid 0x00001234"},
		{[]byte{1, 2, 3}, "malformed frame"},
	}
	f := NewFormatter()
	for _, tc := range cases {
		line := string(f.Format(Frame{Port: "web", Dir: vswitch.In, Time: time.Unix(0, 0), OrigLen: len(tc.frame), Data: tc.frame}))
		if !strings.Contains(line, tc.want) || !strings.Contains(line, " web In ") {
			t.Errorf("line %q\nwant it to contain %q", line, tc.want)
		}
	}
	fr := Frame{Port: "web", Dir: vswitch.Out, Time: time.Now(), OrigLen: 54, Data: tcpFrame(t)}
	if n := testing.AllocsPerRun(100, func() { f.Format(fr) }); n != 0 {
		t.Errorf("formatting a TCP frame allocates %.0f times", n)
	}
}

func TestStreamRoundTripAndPcapng(t *testing.T) {
	var stream bytes.Buffer
	w := NewStreamWriter(&stream)
	w.WritePort("blue", "gateway")
	w.WritePort("blue", "web")
	data := tcpFrame(t)
	t0 := time.Unix(1700000000, 123456000)
	w.WriteFrame("blue", "web", vswitch.In, t0, len(data), data)
	w.WriteStats(1, 0)
	w.WriteFrame("blue", "db", vswitch.Out, t0.Add(time.Millisecond), len(data)+100, data)
	w.WriteEnd(2, 5)

	r := NewStreamReader(&stream)
	var file bytes.Buffer
	pw := NewPcapngWriter(&file, 262144, false)
	var frames []Frame
	for {
		fr, end, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if end != nil && !end.Final {
			continue
		}
		if end != nil {
			if end.Captured != 2 || end.Dropped != 5 {
				t.Fatalf("end %+v", end)
			}
			break
		}
		if fr.OrigLen < 0 {
			pw.AddPort(fr.Network, fr.Port)
			continue
		}
		fr.Data = append([]byte(nil), fr.Data...)
		frames = append(frames, fr)
		pw.WriteFrame(fr)
	}
	if len(frames) != 2 || frames[1].Dir != vswitch.Out || !frames[0].Time.Equal(t0) || frames[1].OrigLen != len(data)+100 {
		t.Fatalf("frames %+v", frames)
	}
	pw.Close(5)
	ng, err := pcapgo.NewNgReader(&file, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := 0; ; i++ {
		_, ci, err := ng.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		intf, _ := ng.Interface(ci.InterfaceIndex)
		names = append(names, intf.Name)
	}
	if strings.Join(names, ",") != "web,db" {
		t.Fatalf("pcapng interfaces of the frames: %v", names)
	}
}

func FuzzStreamReader(f *testing.F) {
	var b bytes.Buffer
	w := NewStreamWriter(&b)
	w.WritePort("n", "p")
	w.WriteFrame("n", "p", vswitch.In, time.Unix(1, 0), 3, []byte{1, 2, 3})
	w.WriteEnd(1, 0)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewStreamReader(bytes.NewReader(data))
		for range 100 {
			if _, end, err := r.Next(); err != nil || end != nil && end.Final {
				return
			}
		}
	})
}

func TestSlowReaderDropsAndCounts(t *testing.T) {
	s := NewSession(Config{QueueFrames: 8})
	defer s.Close()
	fs := []*port.Frame{port.Get(100)}
	fs[0].SetData(tcpFrame(t))
	for range 100 {
		s.offer("n", "p", vswitch.In, fs, time.Now())
	}
	captured, dropped := s.Stats()
	if captured != 8 || dropped != 92 {
		t.Fatalf("captured %d dropped %d, want 8 and 92", captured, dropped)
	}
}

// TestHubDirections: by default a frame is recorded once, where it
// entered; Both adds the copy leaving by the other port, in order.
func TestHubDirections(t *testing.T) {
	for _, tc := range []struct {
		both bool
		want string
	}{{false, "a/in"}, {true, "a/in b/out"}} {
		sw := vswitch.New(vswitch.Config{})
		a := port.NewFake(port.Info{Name: "a", MTU: 1500}, false)
		b := port.NewFake(port.Info{Name: "b", MTU: 1500}, false)
		sw.AddPort(a, vswitch.PortConfig{})
		sw.AddPort(b, vswitch.PortConfig{})
		h := NewHub(sw, "net")
		s := NewSession(Config{Both: tc.both})
		h.Add(s, nil)
		a.Inject(tcpFrame(t))
		// Collect what arrives within a second of the frame.
		done := make(chan struct{})
		timer := time.AfterFunc(time.Second, func() { close(done) })
		var got []string
		for {
			r, ok := s.Next(done)
			if !ok {
				break
			}
			dir := "in"
			if r.Dir == vswitch.Out {
				dir = "out"
			}
			got = append(got, r.Port+"/"+dir)
			s.Release(r)
		}
		timer.Stop()
		h.Remove(s)
		s.Close()
		sw.Close()
		if strings.Join(got, " ") != tc.want {
			t.Errorf("both=%v: captured %v, want %s", tc.both, got, tc.want)
		}
	}
}
