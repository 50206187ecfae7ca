package tap_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil"
	"github.com/switchyard/switchyard/nsutil/nstest"
	"github.com/switchyard/switchyard/tap"
)

// pingCmd returns the argv prefix of an ICMP ping, or nil.
func pingCmd() []string {
	if _, err := exec.LookPath("ping"); err == nil {
		return []string{"ping"}
	}
	if _, err := exec.LookPath("busybox"); err == nil {
		return []string{"busybox", "ping"}
	}
	return nil
}

// TestForward connects two namespaces through two TAPs and a goroutine per
// direction copying frames with ReadFrames/WriteFrames.
func TestForward(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run("plain="+strconv.FormatBool(plain), func(t *testing.T) {
			testForward(t, plain)
		})
	}
}

func testForward(t *testing.T, plain bool) {
	nameA, pathA := newNS(t)
	_, pathB := newNS(t)
	a := mustOpen(t, tap.Config{Netns: pathA, Name: "eth0", Plain: plain,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")}})
	b := mustOpen(t, tap.Config{Netns: pathB, Name: "eth0", Plain: plain,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.77.0.2/24")}})
	if a.Info().Offload == plain || b.Info().Offload == plain {
		t.Fatalf("offload: %v / %v", a.Info(), b.Info())
	}
	var wg sync.WaitGroup
	var ab, ba forwarder
	ab.run(&wg, a, b)
	ba.run(&wg, b, a)
	defer func() {
		a.Close()
		b.Close()
		wg.Wait()
		for _, fw := range []*forwarder{&ab, &ba} {
			if err := fw.err.Load(); err != nil {
				t.Errorf("forwarder: %v", err)
			}
		}
		t.Logf("A→B: %+v, %d super-frames, longest %d", a.Stats(), ab.gso.Load(), ab.maxLen.Load())
		t.Logf("B→A: %+v, %d super-frames, longest %d", b.Stats(), ba.gso.Load(), ba.maxLen.Load())
	}()

	if ping := pingCmd(); ping == nil {
		t.Log("no ping command; skipping the ICMP check")
	} else {
		args := append(ping, "-c", "3", "-W", "1", "10.77.0.2")
		if out, err := nstest.Exec(nameA, args...); err != nil {
			t.Fatalf("ping: %v\n%s", err, out)
		}
	}

	const size = 8 << 20
	sum, got := tcpTransfer(t, pathA, pathB, size)
	if got != sum {
		t.Fatalf("TCP data corrupted: sent %x, received %x", sum, got)
	}
	if !plain && ab.gso.Load() == 0 {
		t.Errorf("no super-frame seen in fast mode")
	}
	if plain && (ab.gso.Load() != 0 || ab.maxLen.Load() > 1514) {
		t.Errorf("plain mode saw super-frames (%d, longest %d)", ab.gso.Load(), ab.maxLen.Load())
	}
}

// tcpTransfer sends size pseudo-random bytes from namespace A to a listener
// in namespace B and returns the SHA-256 of what was sent and received.
func tcpTransfer(t *testing.T, pathA, pathB string, size int) (sent, got [32]byte) {
	t.Helper()
	var ln net.Listener
	if err := nsutil.Do(pathB, func() (err error) {
		ln, err = net.Listen("tcp4", "10.77.0.2:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	result := make(chan [32]byte, 1)
	go func() {
		defer close(result)
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err != nil || n != int64(size) {
			t.Errorf("received %d bytes: %v", n, err)
		}
		result <- [32]byte(h.Sum(nil))
	}()

	var c net.Conn
	if err := nsutil.Do(pathA, func() (err error) {
		c, err = net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{7}).Read(data)
	start := time.Now()
	if _, err := io.Copy(c, bytes.NewReader(data)); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.(*net.TCPConn).CloseWrite()
	got = <-result
	el := time.Since(start)
	t.Logf("TCP %d MiB in %v (%.2f Gb/s)", size>>20, el.Round(time.Millisecond), float64(size)*8/el.Seconds()/1e9)
	return sha256.Sum256(data), got
}
