package vswitch

import "testing"

// FuzzIngress feeds arbitrary bytes to the switch as frames arriving on an
// access port and on a trunk (802.1Q parsing, learning, flooding, tag
// insertion). It must never panic, and every frame must be counted as
// received.
func FuzzIngress(f *testing.F) {
	base := frame(bcast, mac(1), 7)
	for _, seed := range [][]byte{
		base,
		frame(mac(2), mac(1), 1),
		tagged(base, 10),
		tagged(base, 0),
		tagged(base, 4095),
		tagged(tagged(base, 20), 10),
		base[:14],
		base[:13],
		{0x81, 0x00},
		append(append([]byte{}, base[:12]...), 0x81, 0x00, 0x00),
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, onTrunk bool) {
		if len(data) > 1514+4 {
			data = data[:1514+4]
		}
		r := newRig(t, Config{})
		r.add("a", PortConfig{})
		r.add("t", PortConfig{Trunk: true, Allowed: []uint16{10, 20}})
		r.add("v", PortConfig{VLAN: 10})
		in := (*r.sw.ports.Load())[0]
		if onTrunk {
			in = (*r.sw.ports.Load())[1]
		}
		rd := newReader(in)
		defer rd.free()
		rd.batch[0].SetData(data)
		r.sw.ingress(rd, 1)
		if got := in.stats().RxFrames; got != 1 {
			t.Fatalf("rx frames %d, want 1", got)
		}
	})
}

// FuzzPortSecurity feeds arbitrary bytes through port security (ARP, ND
// and extension-header parsing) on a locked port and on an open one. It
// must never panic, and a locked port must never get a frame from another
// source MAC past it.
func FuzzPortSecurity(f *testing.F) {
	for _, seed := range [][]byte{
		arpFrame(mac(3), mac(3), "10.0.0.1", 2),
		arpFrame(mac(3), mac(3), "10.0.0.3", 1)[:40],
		ndFrame(mac(3), icmp6NA, "fe80::1", ndOptTgtLL, mac(3)),
		ndFrame(mac(3), icmp6NS, "fe80::1", ndOptSrcLL, mac(1))[:70],
		ndFrame(mac(3), icmp6RA, "", 0, nil),
		qinq(frame(bcast, mac(3), 1)),
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, locked bool) {
		if len(data) > 1518 {
			data = data[:1518]
		}
		r := secureRig(t, Config{})
		name := "open"
		if locked {
			name = "attacker"
		}
		var in *portState
		for _, ps := range *r.sw.ports.Load() {
			if ps.id == r.ids[name] {
				in = ps
			}
		}
		rd := newReader(in)
		defer rd.free()
		rd.batch[0].SetData(data)
		r.sw.ingress(rd, 1)
		st := in.stats()
		if st.RxFrames != 1 {
			t.Fatalf("rx frames %d, want 1", st.RxFrames)
		}
		if locked && len(data) >= 14 && st.RxDrops == 0 && macU64(data[6:12]) != in.sec.mac {
			t.Fatalf("locked port forwarded a frame from % x", data[6:12])
		}
	})
}
