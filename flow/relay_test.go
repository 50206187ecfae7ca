package flow_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/flow"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// opaque is a plain net.Conn with a half-close but no descriptor (no
// splice, no raw reads): the small-buffer path of a relay.
type opaque struct {
	net.Conn
	cw func() error
}

func (o opaque) CloseWrite() error { return o.cw() }

func wrap(kind string, c *net.TCPConn) net.Conn {
	switch kind {
	case "splice":
		return c
	default:
		return opaque{Conn: c, cw: c.CloseWrite}
	}
}

// TestRelay: bytes both ways (large enough to need many reads), half-close
// passed on each way, counts, on each copy path.
func TestRelay(t *testing.T) {
	for _, kind := range []string{"splice", "buffered"} {
		t.Run(kind, func(t *testing.T) {
			client, a := tcpPair(t)
			b, server := tcpPair(t)
			var up, down atomic.Uint64
			done := make(chan struct{})
			go func() { flow.Relay(wrap(kind, a), wrap(kind, b), &up, &down); close(done) }()
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			go func() { client.Write(big); client.CloseWrite() }()
			got, err := io.ReadAll(server)
			if err != nil || !bytes.Equal(got, big) {
				t.Fatalf("server read %d bytes (%v), want %d", len(got), err, len(big))
			}
			// The client's half-close reached the server; the server can
			// still answer.
			server.Write([]byte("bye"))
			server.CloseWrite()
			back, err := io.ReadAll(client)
			if err != nil || string(back) != "bye" {
				t.Fatalf("client read %q (%v)", back, err)
			}
			<-done
			if up.Load() != uint64(len(big)) || down.Load() != 3 {
				t.Fatalf("counted %d up, %d down", up.Load(), down.Load())
			}
		})
	}
}

// TestRelayReset: a reset on one side reaches the other as a reset.
func TestRelayReset(t *testing.T) {
	for _, kind := range []string{"splice", "buffered"} {
		t.Run(kind, func(t *testing.T) {
			client, a := tcpPair(t)
			b, server := tcpPair(t)
			go flow.Relay(a, wrap(kind, b), nil, nil)
			echo := make([]byte, 4)
			client.Write([]byte("ping"))
			io.ReadFull(server, echo)
			server.SetLinger(0)
			server.Close() // RST to the relay's b
			client.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := client.Read(echo)
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("client read after the server's reset: %v, want ECONNRESET", err)
			}
		})
	}
}

// TestReaderStreamGrows: a stream without a descriptor is read through
// the small buffer, then large ones while reads fill it.
func TestReaderStreamGrows(t *testing.T) {
	c, s := tcpPair(t)
	r := flow.NewReader(opaque{Conn: s}, false)
	data := bytes.Repeat([]byte{7}, 256<<10)
	go func() { c.Write(data); c.Close() }()
	var got int
	var maxChunk int
	for {
		err := r.Next(func(b []byte) error { got += len(b); maxChunk = max(maxChunk, len(b)); return nil })
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got != len(data) || maxChunk <= flow.SmallBufSize {
		t.Fatalf("read %d bytes, largest chunk %d", got, maxChunk)
	}
}

// TestReaderUDPAllocs: a datagram read through a host socket's descriptor
// allocates nothing.
func TestReaderUDPAllocs(t *testing.T) {
	rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc, err := net.DialUDP("udp", nil, rc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	r := flow.NewReader(rc, true)
	msg := []byte("datagram")
	var n int
	f := func(b []byte) error { n += len(b); return nil }
	allocs := testing.AllocsPerRun(1000, func() {
		sc.Write(msg)
		if err := r.Next(f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per datagram", allocs)
	}
	if n != 1001*len(msg) {
		t.Fatalf("read %d bytes", n)
	}
}
