package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/daemon"
)

// daemonEnv carries a daemon configuration (JSON) to the test binary
// re-executed as a daemon process.
const daemonEnv = "SWITCHYARD_TEST_DAEMON"

// TestMain runs the test binary as a daemon when daemonEnv is set: tests
// kill that process with SIGKILL, which they cannot do to themselves.
func TestMain(m *testing.M) {
	if spec := os.Getenv(echoEnv); spec != "" {
		if err := runEcho(spec); err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if cfg := os.Getenv(daemonEnv); cfg != "" {
		if err := runDaemon(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "daemon:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runDaemon is `switchyard up` with a JSON configuration: it serves until
// SIGTERM or SIGINT.
func runDaemon(js string) error {
	cfg, err := daemon.ParseConfig([]byte(js))
	if err != nil {
		return err
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	d, err := daemon.New(cfg, nil)
	if err != nil {
		return err
	}
	ln, err := daemon.Listen(cfg.Socket)
	if err != nil {
		d.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return d.Serve(ctx, ln)
}

// proc is a daemon running as a child process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	c    *api.Client
	log  syncBuf
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// syncBuf is a bytes.Buffer safe for the process's output copier and the
// test reading it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProc starts the test binary as a daemon with cfg and waits until
// it answers on its socket. The process is killed when t ends.
func startProc(t *testing.T, cfg daemon.Config) *proc {
	t.Helper()
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: exec.Command(os.Args[0], "-test.run=^$"), c: api.NewClient(cfg.Socket), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), daemonEnv+"="+string(js))
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", p.log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", cfg.Socket); err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("daemon exited at start (%v):\n%s", p.err, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start:\n%s", p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill9 kills the daemon as a crash, OOM kill or power cut would.
func (p *proc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// term stops the daemon with SIGTERM and checks it exits cleanly.
func (p *proc) term() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			p.t.Fatalf("daemon exit: %v\n%s", p.err, p.log.String())
		}
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		p.t.Fatalf("daemon did not stop on SIGTERM\n%s", p.log.String())
	}
}
