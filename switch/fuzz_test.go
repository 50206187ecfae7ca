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
