package rootless

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAPITooLarge: 4095 bytes are a request, 4096 are too large, whether
// or not the client half-closes, and a client streaming /dev/zero is
// answered as soon as 4096 bytes arrived.
func TestAPITooLarge(t *testing.T) {
	path, _, _ := startAPI(t)
	tooLarge := `{"error":{"desc":"bad request: too large message"}}`
	pad := func(n int) string { return listReq + strings.Repeat(" ", n-len(listReq)) }
	if got := rootlessKitCall(t, path, pad(4095)); got != `{"entries":[]}` {
		t.Errorf("4095 bytes: %s", got)
	}
	if got := podmanCall(t, path, pad(4096)); got != tooLarge {
		t.Errorf("4096 bytes: %s", got)
	}
	for _, tc := range []struct {
		name  string
		write func(c net.Conn) error
	}{
		{"4096 without half-close", func(c net.Conn) error {
			_, err := c.Write([]byte(pad(4096)))
			return err
		}},
		{"/dev/zero", func(c net.Conn) error {
			zero := make([]byte, 1000)
			for {
				if _, err := c.Write(zero); err != nil {
					return err
				}
			}
		}},
	} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		go tc.write(c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2048)
		n, err := c.Read(buf)
		if string(buf[:n]) != tooLarge {
			t.Errorf("%s: %q %v", tc.name, buf[:n], err)
		}
		c.Close()
	}
}

// TestAPINoHalfClose: a client that sends a complete request and waits
// gets its answer without closing its side.
func TestAPINoHalfClose(t *testing.T) {
	path, _, _ := startAPI(t)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// In two pieces: the first is not a complete value.
	c.Write([]byte(`{"execute":`))
	time.Sleep(2 * apiCompleteGrace)
	c.Write([]byte(`"list_hostfwd"}`))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if string(b) != `{"entries":[]}` || err != nil {
		t.Errorf("%q %v", b, err)
	}
}

// TestAPIConcurrent: concurrent clients get distinct IDs 1..n.
func TestAPIConcurrent(t *testing.T) {
	path, _, _ := startAPI(t)
	const n = 32
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids <- rootlessKitCall(t, path, fmt.Sprintf(addReq+`{"proto":"tcp","host_port":%d,"guest_port":80}}`, 20000+i))
			_ = rootlessKitCall(t, path, listReq)
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for r := range ids {
		seen[r] = true
	}
	for i := 1; i <= n; i++ {
		if r := fmt.Sprintf(`{"return":{"id":%d}}`, i); !seen[r] {
			t.Errorf("missing %s", r)
		}
	}
	list := rootlessKitCall(t, path, listReq)
	if c := strings.Count(list, `"id":`); c != n {
		t.Errorf("list has %d entries: %s", c, list)
	}
}

// TestAPIClose: Close returns while a client holds an idle connection,
// and Serve returns nil.
func TestAPIClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewAPIServer(ln, newFakeForwarder(), testGuest, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"exec`))
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	b, _ := io.ReadAll(c)
	if len(b) != 0 {
		t.Errorf("reply after Close: %q", b)
	}
}
