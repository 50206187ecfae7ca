package vxlan

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/port"
)

// TestTunnelReadersShareSocket runs a reader on each of two tunnels of one
// socket, as two switches do: whichever reads the socket hands the other
// its frames, and closing a tunnel whose reader waits in the socket
// returns that reader at once while the other keeps receiving.
func TestTunnelReadersShareSocket(t *testing.T) {
	p := freePort(t)
	a, b := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p)
	ta1, ta2 := tunnel(t, a, TunnelConfig{VNI: 1}, "127.0.0.2"), tunnel(t, a, TunnelConfig{VNI: 2}, "127.0.0.2")
	tb1, tb2 := tunnel(t, b, TunnelConfig{VNI: 1}), tunnel(t, b, TunnelConfig{VNI: 2})
	type got struct {
		data []byte
		err  error
	}
	reader := func(tu *Tunnel) chan got {
		ch := make(chan got, 16)
		go func() {
			for {
				f := port.Get(port.SmallBuf)
				_, err := tu.ReadFrames([]*port.Frame{f})
				ch <- got{append([]byte(nil), f.Data()...), err}
				port.Put(f)
				if err != nil {
					return
				}
			}
		}()
		return ch
	}
	r1, r2 := reader(tb1), reader(tb2)
	expect := func(ch chan got, want []byte) {
		t.Helper()
		select {
		case g := <-ch:
			if g.err != nil || !bytes.Equal(g.data, want) {
				t.Fatalf("got % x, %v; want % x", g.data, g.err, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("nothing received")
		}
	}
	for i := range 5 {
		f1, f2 := ethFrame(bcast, macA, "one"+string(rune('0'+i))), ethFrame(bcast, macB, "two"+string(rune('0'+i)))
		send(t, ta1, f1)
		send(t, ta2, f2)
		expect(r1, f1)
		expect(r2, f2)
	}
	tb1.Close()
	select {
	case g := <-r1:
		if !errors.Is(g.err, port.ErrClosed) {
			t.Fatalf("closed tunnel's reader: %v", g.err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the closed tunnel's reader did not return")
	}
	f2 := ethFrame(bcast, macB, "after")
	send(t, ta2, f2)
	expect(r2, f2)
	tb2.Close()
	select {
	case g := <-r2:
		if !errors.Is(g.err, port.ErrClosed) {
			t.Fatalf("second reader: %v", g.err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the second reader did not return")
	}
}
