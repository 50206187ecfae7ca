package dockerplugin_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

// checkExternalAndCapture reaches web's published port 8082 from another
// namespace (a client beyond a veth, as a remote host would), while
// `switchyard capture` on the network records the exchange.
func (e *dockerEnv) checkExternalAndCapture(network string) {
	t := e.t
	t.Helper()
	client := nstest.NewNetns(t)
	b := make([]byte, 3)
	rand.Read(b)
	host, peer := "vh"+hex.EncodeToString(b), "vc"+hex.EncodeToString(b)
	for _, argv := range [][]string{
		{"ip", "link", "add", host, "netns", e.ns, "type", "veth", "peer", "name", peer, "netns", client},
		{"ip", "-n", e.ns, "addr", "add", "192.168.218.1/24", "dev", host},
		{"ip", "-n", e.ns, "link", "set", host, "up"},
		{"ip", "-n", client, "addr", "add", "192.168.218.2/24", "dev", peer},
		{"ip", "-n", client, "link", "set", peer, "up"},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", argv, err, out)
		}
	}
	capture := exec.Command(binary, "capture", network, "--socket", filepath.Join(e.dir, "sy.sock"), "-c", "3", "-f", "tcp port 80")
	stderr, _ := capture.StderrPipe()
	var out strings.Builder
	capture.Stdout = &out
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- capture.Wait() }()
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				listening <- true
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		capture.Process.Kill()
		t.Fatal("capture did not start")
	}
	if got, err := nstest.Exec(client, "busybox", "wget", "-qO-", "http://192.168.218.1:8082/x"); err != nil || got != "hello" {
		t.Errorf("published port from an external namespace: %q %v", got, err)
	}
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "10.218.1.2") {
			t.Errorf("capture: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		capture.Process.Kill()
		<-done
		t.Errorf("capture saw fewer than 3 frames of port 80:\n%s", out.String())
	}
}
