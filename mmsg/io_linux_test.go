package mmsg

import (
	"net"
	"syscall"
	"testing"
)

// udp opens a UDP socket on 127.0.0.1 and returns it with its RawConn.
func udp(t *testing.T) (*net.UDPConn, syscall.RawConn) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return c, rc
}

// TestSendReceive sends a batch with per-message IPv4 destinations and
// receives it in one batch, with the sender's address.
func TestSendReceive(t *testing.T) {
	_, arc := udp(t)
	b, brc := udp(t)
	const n = 4
	s := NewSender(arc, n, 16)
	r := NewReceiver(brc, n, 16, 0)
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, 64)
		r.SetBuf(i, bufs[i])
	}
	dst := uint16(b.LocalAddr().(*net.UDPAddr).Port)
	msgs := []string{"one", "two", "three", "four"}
	for _, m := range msgs {
		if s.Full() {
			t.Fatal("full before n messages")
		}
		s.SetInet4(s.Add([]byte(m)), 0x7f000001, dst)
	}
	if !s.Full() || s.Queued() != n {
		t.Fatalf("queued %d, full %v; want %d, true", s.Queued(), s.Full(), n)
	}
	res, err := s.Flush()
	if err != nil || res != (Result{Sent: n}) {
		t.Fatalf("Flush: %+v, %v", res, err)
	}
	src := uint32(0x7f000001)
	for got := 0; got < n; {
		k, err := r.Receive()
		if err != nil {
			t.Fatal(err)
		}
		for i := range k {
			if m := string(bufs[i][:r.Msgs[i].N]); m != msgs[got] || r.Truncated(i) || r.Inet4(i) != src {
				t.Fatalf("message %d: %q truncated %v from %#x; want %q from %#x", got, m, r.Truncated(i), r.Inet4(i), msgs[got], src)
			}
			got++
		}
	}
}

// TestSendRefused counts a datagram the kernel refuses (too big for UDP)
// and sends the rest of the batch.
func TestSendRefused(t *testing.T) {
	_, arc := udp(t)
	b, _ := udp(t)
	dst := uint16(b.LocalAddr().(*net.UDPAddr).Port)
	s := NewSender(arc, 3, 16)
	big := make([]byte, 70000)
	for _, p := range [][]byte{[]byte("ok"), big, []byte("ok too")} {
		s.SetInet4(s.Add(p), 0x7f000001, dst)
	}
	res, err := s.Flush()
	if err != nil || res != (Result{Sent: 2, Refused: 1}) {
		t.Fatalf("Flush: %+v, %v; want 2 sent, 1 refused", res, err)
	}
	if res, err := s.Flush(); err != nil || res != (Result{}) {
		t.Fatalf("empty Flush: %+v, %v", res, err)
	}
}

// TestTruncated flags a datagram longer than its buffer.
func TestTruncated(t *testing.T) {
	a, _ := udp(t)
	b, brc := udp(t)
	r := NewReceiver(brc, 1, 16, 0)
	r.SetBuf(0, make([]byte, 4))
	if _, err := a.WriteTo([]byte("longer than four"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Receive(); err != nil || n != 1 || !r.Truncated(0) {
		t.Fatalf("Receive: %d, %v, truncated %v; want 1 truncated", n, err, r.Truncated(0))
	}
}

// TestReceiveClosed returns the RawConn's error once the socket closes.
func TestReceiveClosed(t *testing.T) {
	b, brc := udp(t)
	r := NewReceiver(brc, 1, 16, 0)
	r.SetBuf(0, make([]byte, 64))
	done := make(chan error, 1)
	go func() { _, err := r.Receive(); done <- err }()
	b.Close()
	if err := <-done; err == nil {
		t.Fatal("Receive on a closed socket returned no error")
	}
}
