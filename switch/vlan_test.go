package vswitch

import (
	"testing"
	"time"
)

func TestVLANAccessAndTrunk(t *testing.T) {
	r := newRig(t, Config{})
	a10 := r.add("a10", PortConfig{VLAN: 10})
	r.add("b10", PortConfig{VLAN: 10})
	r.add("a20", PortConfig{VLAN: 20})
	trunk := r.add("trunk", PortConfig{Trunk: true, Allowed: []uint16{10, 20}})
	r.add("untagged", PortConfig{})

	// Broadcast in VLAN 10: b10 untagged and the trunk tagged; nothing to
	// VLAN 20 or the untagged domain.
	f := frame(bcast, mac(1), 1)
	a10.Inject(f)
	gotB := r.ports["b10"].Recv(timeout(t))
	gotT := trunk.Recv(timeout(t))
	if string(gotB) != string(f) || string(gotT) != string(tagged(f, 10)) {
		t.Fatalf("b10 got % x\ntrunk got % x", gotB, gotT)
	}
	r.quiet(nil)
	// Back from the trunk, tagged 10, unicast to the learned MAC: untagged on a10.
	back := frame(mac(1), mac(7), 2)
	trunk.Inject(tagged(back, 10))
	r.expect(back, "a10")
}

func timeout(t *testing.T) <-chan struct{} {
	done := make(chan struct{})
	tm := time.AfterFunc(2*time.Second, func() { close(done) })
	t.Cleanup(func() { tm.Stop() })
	return done
}

func TestVLANIsolation(t *testing.T) {
	cases := []struct {
		name   string
		from   string
		frame  []byte
		want   []byte
		expect []string
	}{
		{"access10 broadcast", "a10", frame(bcast, mac(1), 1), nil, nil},
		{"access20 broadcast", "a20", frame(bcast, mac(2), 2), nil, nil},
		{"trunk tagged 20", "trunk", tagged(frame(bcast, mac(3), 3), 20), frame(bcast, mac(3), 3), []string{"a20"}},
		{"trunk tagged 30 not allowed", "trunk", tagged(frame(bcast, mac(4), 4), 30), nil, []string{}},
		{"access tagged frame dropped", "a10", tagged(frame(bcast, mac(5), 5), 10), nil, []string{}},
		{"trunk untagged to native", "trunk", frame(bcast, mac(6), 6), frame(bcast, mac(6), 6), []string{"untagged"}},
		{"priority tag on access port", "a20", tagged(frame(bcast, mac(7), 7), 0), tagged(frame(bcast, mac(7), 7), 20), []string{"trunk"}},
		{"trunk vid 4095 dropped", "trunk", tagged(frame(bcast, mac(8), 8), 4095), nil, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Config{})
			r.add("a10", PortConfig{VLAN: 10})
			r.add("a20", PortConfig{VLAN: 20})
			r.add("trunk", PortConfig{Trunk: true, Allowed: []uint16{10, 20}})
			r.add("untagged", PortConfig{})
			r.ports[tc.from].Inject(tc.frame)
			switch {
			case tc.expect != nil:
				r.expect(tc.want, tc.expect...)
			case tc.from == "a10":
				r.expect(tagged(tc.frame, 10), "trunk")
			case tc.from == "a20":
				r.expect(tagged(tc.frame, 20), "trunk")
			}
		})
	}
}

func TestVLANLearningIsPerVLAN(t *testing.T) {
	r := newRig(t, Config{})
	a10 := r.add("a10", PortConfig{VLAN: 10})
	r.add("a20", PortConfig{VLAN: 20})
	trunk := r.add("trunk", PortConfig{Trunk: true})
	// The same MAC learned in VLAN 10 on a10 and in VLAN 20 on the trunk.
	a10.Inject(frame(bcast, mac(1), 1))
	r.expect(tagged(frame(bcast, mac(1), 1), 10), "trunk")
	trunk.Inject(tagged(frame(bcast, mac(1), 2), 20))
	r.expect(frame(bcast, mac(1), 2), "a20")
	// Unicast to mac(1) in VLAN 10 from the trunk goes to a10 only.
	trunk.Inject(tagged(frame(mac(1), mac(9), 3), 10))
	r.expect(frame(mac(1), mac(9), 3), "a10")
	if got := r.sw.Stats().FDBEntries; got != 3 {
		t.Fatalf("fdb entries = %d, want 3 (mac1/10, mac1/20, mac9/10)", got)
	}
}

func TestBadVLANConfig(t *testing.T) {
	r := newRig(t, Config{})
	for _, pc := range []PortConfig{{VLAN: 4095}, {Trunk: true, Allowed: []uint16{0}}, {Trunk: true, Native: 5000}} {
		if _, err := r.sw.AddPort(nil, pc); err == nil {
			t.Errorf("AddPort(%+v) accepted a bad VLAN", pc)
		}
	}
}

func TestTrunkAllVLANsExcludesReserved(t *testing.T) {
	v := newVLANSet(PortConfig{Trunk: true, Native: 0})
	if !v.has(0) || !v.has(1) || !v.has(4094) || v.has(4095) {
		t.Fatalf("trunk with all VLANs: has(0)=%v has(1)=%v has(4094)=%v has(4095)=%v", v.has(0), v.has(1), v.has(4094), v.has(4095))
	}
	v = newVLANSet(PortConfig{Trunk: true, Native: 7})
	if v.has(0) || !v.has(7) {
		t.Fatal("trunk with native 7 admits the untagged domain or not its native VLAN")
	}
}
