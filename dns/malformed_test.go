package dns

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// packQuery returns a wire-format A query for name with the given ID.
func packQuery(t testing.TB, id uint16, name string) []byte {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, mdns.TypeA)
	m.Id = id
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withHeader returns a copy of b with header bytes [2:12] replaced.
func withCounts(b []byte, qd, an uint16) []byte {
	b = bytes.Clone(b)
	binary.BigEndian.PutUint16(b[4:], qd)
	binary.BigEndian.PutUint16(b[6:], an)
	return b
}

func TestMalformedUDP(t *testing.T) {
	ts := startServer(t, Config{Domain: "mynet", ResolveNames: true})
	ts.SetRecords(testRecords)
	q := packQuery(t, 0x1234, "web.mynet.")
	notify := bytes.Clone(q)
	notify[2] |= mdns.OpcodeNotify << 3
	response := bytes.Clone(q)
	response[2] |= 0x80
	huge := append(bytes.Clone(q), make([]byte, 60000)...)

	tests := []struct {
		name  string
		in    []byte
		rcode int // -1: no reply
	}{
		{"empty", nil, -1},
		{"garbage", []byte{0xde, 0xad, 0xbe}, -1},
		{"short header", q[:11], -1},
		{"response", response, -1},
		{"header only", q[:12], mdns.RcodeFormatError},
		{"truncated question", q[:len(q)-3], mdns.RcodeFormatError},
		{"qdcount 0", withCounts(q[:12], 0, 0), mdns.RcodeFormatError},
		{"qdcount 2", append(withCounts(q, 2, 0), q[12:]...), mdns.RcodeFormatError},
		{"qdcount 65535", withCounts(q, 0xffff, 0), mdns.RcodeFormatError},
		{"ancount lies", withCounts(q, 1, 0xffff), mdns.RcodeFormatError},
		{"notify", notify, mdns.RcodeNotImplemented},
		{"huge", huge, mdns.RcodeSuccess}, // trailing garbage is ignored
		{"valid", q, mdns.RcodeSuccess},
	}
	c, err := net.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Write(tt.in); err != nil {
				t.Fatal(err)
			}
			wait := 2 * time.Second
			if tt.rcode < 0 {
				wait = 200 * time.Millisecond
			}
			_ = c.SetReadDeadline(time.Now().Add(wait))
			buf := make([]byte, 65535)
			n, err := c.Read(buf)
			if tt.rcode < 0 {
				if !isTimeout(err) {
					t.Fatalf("got reply (%d bytes, %v), want none", n, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := new(mdns.Msg)
			if err := r.Unpack(buf[:n]); err != nil {
				t.Fatal(err)
			}
			if r.Id != 0x1234 || !r.Response || r.Rcode != tt.rcode {
				t.Errorf("got id %#x response %v rcode %s, want id 0x1234 rcode %s",
					r.Id, r.Response, mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tt.rcode])
			}
		})
	}
	if st := ts.Stats(); st.Malformed != 10 || st.Queries != uint64(len(tests)) {
		t.Errorf("stats %+v", st)
	}
}

// readTCP reads one length-prefixed reply from c.
func readTCP(c net.Conn) (*mdns.Msg, error) {
	var lb [2]byte
	if _, err := io.ReadFull(c, lb[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(lb[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	r := new(mdns.Msg)
	return r, r.Unpack(buf)
}

// writeTCP sends b with a length prefix of n.
func writeTCP(t *testing.T, c net.Conn, n int, b []byte) {
	t.Helper()
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(n)), b...)); err != nil {
		t.Fatal(err)
	}
}

// expectClosed checks the server closes c within d.
func expectClosed(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(make([]byte, 1))
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isConnReset(err) {
		t.Fatalf("read %d bytes, %v: want the server to close the connection", n, err)
	}
}

// isConnReset reports a connection reset by the peer.
func isConnReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

func TestMalformedTCP(t *testing.T) {
	ts := startServer(t, Config{Domain: "mynet", ResolveNames: true, TCPIdleTimeout: 300 * time.Millisecond})
	ts.SetRecords(testRecords)
	q := packQuery(t, 0x4321, "web.mynet.")
	dial := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", ts.tcp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("formerr keeps the connection", func(t *testing.T) {
		c := dial(t)
		for _, b := range [][]byte{q[:12], withCounts(q, 2, 0), q} {
			writeTCP(t, c, len(b), b)
			r, err := readTCP(c)
			if err != nil {
				t.Fatal(err)
			}
			want := mdns.RcodeFormatError
			if len(b) == len(q) && b[5] == 1 {
				want = mdns.RcodeSuccess
			}
			if r.Id != 0x4321 || r.Rcode != want {
				t.Errorf("got id %#x rcode %s, want %s", r.Id, mdns.RcodeToString[r.Rcode], mdns.RcodeToString[want])
			}
		}
	})
	t.Run("too short to answer", func(t *testing.T) {
		c := dial(t)
		writeTCP(t, c, 5, []byte{1, 2, 3, 4, 5})
		expectClosed(t, c, 2*time.Second)
	})
	t.Run("zero length", func(t *testing.T) {
		c := dial(t)
		writeTCP(t, c, 0, nil)
		expectClosed(t, c, 2*time.Second)
	})
	t.Run("length prefix longer than the message", func(t *testing.T) {
		c := dial(t)
		writeTCP(t, c, 60000, q) // then silence
		start := time.Now()
		expectClosed(t, c, 3*time.Second)
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("closed after %v, before the idle timeout", d)
		}
	})
	t.Run("length prefix shorter than the message", func(t *testing.T) {
		c := dial(t)
		writeTCP(t, c, len(q)-3, q) // the rest reads as the next length + garbage
		if r, err := readTCP(c); err != nil || r.Rcode != mdns.RcodeFormatError {
			t.Fatalf("got %v, %v; want FORMERR", r, err)
		}
		expectClosed(t, c, 3*time.Second)
	})
	t.Run("idle", func(t *testing.T) {
		expectClosed(t, dial(t), 3*time.Second)
	})
	t.Run("half a length prefix", func(t *testing.T) {
		c := dial(t)
		_, _ = c.Write([]byte{0})
		expectClosed(t, c, 3*time.Second)
	})
	// The server still works.
	if r := ask(t, "tcp", ts.tcp, "web.", mdns.TypeA); !slices.Equal(rdata(r), []string{"10.0.0.2"}) {
		t.Errorf("after abuse: %v", r)
	}
}

// TestTCPConnLimit: at MaxTCPConns a new connection closes the one idle
// the longest and is served; when every connection is in the middle of a
// query the new one is closed at once.
func TestTCPConnLimit(t *testing.T) {
	ts := startServer(t, Config{ResolveNames: true, MaxTCPConns: 2, TCPIdleTimeout: 5 * time.Second})
	ts.SetRecords(testRecords)
	q := packQuery(t, 7, "web.")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ts.tcp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	query := func(c net.Conn) error {
		writeTCP(t, c, len(q), q)
		_, err := readTCP(c)
		return err
	}
	var idle []net.Conn
	for range 2 {
		c := dial()
		if err := query(c); err != nil { // answered, then idle
			t.Fatal(err)
		}
		idle = append(idle, c)
		time.Sleep(10 * time.Millisecond)
	}
	fresh := dial()
	if err := query(fresh); err != nil {
		t.Fatalf("new connection at the cap with idle ones: %v", err)
	}
	expectClosed(t, idle[0], 2*time.Second)
	if err := query(idle[1]); err != nil {
		t.Fatalf("the younger idle connection was closed too: %v", err)
	}
	if st := ts.Stats(); st.IdleClosed != 1 || st.Overloaded != 0 {
		t.Errorf("stats %+v, want 1 idle connection closed", st)
	}
	// Both remaining connections busy with a half-sent query: a new one is
	// refused.
	idle[1].Write([]byte{0})
	fresh.Write([]byte{0})
	time.Sleep(50 * time.Millisecond)
	expectClosed(t, dial(), 2*time.Second)
	if st := ts.Stats(); st.Overloaded != 1 {
		t.Errorf("stats %+v, want 1 refused", st)
	}
}

func TestForwardLimit(t *testing.T) {
	ts := startServer(t, Config{MaxForwards: 1, Upstreams: []string{blackhole(t)}, Timeout: 3 * time.Second})
	c, err := net.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The first query takes the only slot (its upstream never answers);
	// the second is refused at once.
	if _, err := c.Write(packQuery(t, 1, "slow.example.")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ts.Stats().Forwarded == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first query was never forwarded")
		}
	}
	start := time.Now()
	r := ask(t, "udp", ts.udp, "second.example.", mdns.TypeA)
	// Well before the upstream timeout (3 s) the second query is refused.
	if r.Rcode != mdns.RcodeServerFailure || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("got %s after %v, want an immediate SERVFAIL", mdns.RcodeToString[r.Rcode], time.Since(start))
	}
	if st := ts.Stats(); st.Overloaded != 1 {
		t.Errorf("stats %+v", st)
	}
}
