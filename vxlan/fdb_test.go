package vxlan

import (
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a Clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *fakeClock) nano() int64         { return c.ns.Load() }
func newFakeClock() *fakeClock           { c := &fakeClock{}; c.ns.Store(int64(time.Hour)); return c }
func vtepOf(s string) uint32             { v, _ := ip4(mustAddr(s)); return v }
func lookupVTEP(tb *table, mac uint64) uint32 {
	v, _ := tb.lookup(mac, tb.clock.Now().UnixNano())
	return v
}

func TestTable(t *testing.T) {
	const macA, macB, macC = 0x020000000001, 0x020000000002, 0x020000000003
	a, b := vtepOf("192.0.2.1"), vtepOf("192.0.2.2")
	cases := []struct {
		name string
		run  func(tb *table, c *fakeClock)
		mac  uint64
		want uint32 // 0: unknown
	}{
		{"learned", func(tb *table, c *fakeClock) { tb.learn(macA, a, c.nano()) }, macA, a},
		{"learned moves", func(tb *table, c *fakeClock) { tb.learn(macA, a, c.nano()); tb.learn(macA, b, c.nano()) }, macA, b},
		{"learned ages out", func(tb *table, c *fakeClock) { tb.learn(macA, a, c.nano()); c.Add(11 * time.Second) }, macA, 0},
		{"refreshed entry stays", func(tb *table, c *fakeClock) {
			tb.learn(macA, a, c.nano())
			c.Add(8 * time.Second)
			tb.learn(macA, a, c.nano())
			c.Add(8 * time.Second)
		}, macA, a},
		{"static never ages", func(tb *table, c *fakeClock) { tb.setStatic(macA, a); c.Add(time.Hour) }, macA, a},
		{"static beats learning", func(tb *table, c *fakeClock) { tb.setStatic(macA, a); tb.learn(macA, b, c.nano()) }, macA, a},
		{"static replaces learned", func(tb *table, c *fakeClock) { tb.learn(macA, b, c.nano()); tb.setStatic(macA, a) }, macA, a},
		{"removed", func(tb *table, c *fakeClock) { tb.setStatic(macA, a); tb.remove(macA) }, macA, 0},
		{"full refuses", func(tb *table, c *fakeClock) {
			tb.learn(macA, a, c.nano())
			tb.learn(macB, a, c.nano())
			tb.learn(macC, a, c.nano())
		}, macC, 0},
		{"full evicts aged", func(tb *table, c *fakeClock) {
			tb.learn(macA, a, c.nano())
			tb.learn(macB, a, c.nano())
			c.Add(11 * time.Second)
			tb.learn(macC, b, c.nano())
		}, macC, b},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeClock()
			tb := newTable(2, 10*time.Second, c)
			tc.run(tb, c)
			if got := lookupVTEP(tb, tc.mac); got != tc.want {
				t.Fatalf("lookup = %s, want %s", addrOf(got), addrOf(tc.want))
			}
			if n := len(*tb.m.Load()); n > 2 {
				t.Fatalf("%d entries in a table of 2", n)
			}
		})
	}
}

func TestTableFullCountedAndExpired(t *testing.T) {
	c := newFakeClock()
	tb := newTable(1, 10*time.Second, c)
	tb.learn(1, 1, c.nano())
	tb.learn(2, 1, c.nano())
	if tb.full.Load() != 1 {
		t.Fatalf("full = %d, want 1", tb.full.Load())
	}
	c.Add(20 * time.Second)
	tb.expire()
	if n := len(tb.entries()); n != 0 {
		t.Fatalf("%d entries after expiry, want 0", n)
	}
}
