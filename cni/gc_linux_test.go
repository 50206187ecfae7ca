package cni_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/cni"
	"github.com/switchyard/switchyard/nsutil/nstest"
)

func names(eps []api.Endpoint) []string {
	var out []string
	for _, e := range eps {
		out = append(out, e.Name)
	}
	slices.Sort(out)
	return out
}

// TestGCValidAttachments adds two namespaces with cnitool, then GCs with
// one of them valid (as libcni passes cni.dev/valid-attachments), then
// with none (cnitool gc). An endpoint attached by hand survives both.
func TestGCValidAttachments(t *testing.T) {
	l := startDaemon(t)
	a, b, manual := nstest.NewNetns(t), nstest.NewNetns(t), nstest.NewNetns(t)
	dir := writeConf(t, "sygc", map[string]any{"cniVersion": "1.1.0",
		"plugins": []any{pluginConf(l.sock, "cnigc", "10.216.7.0/24")}})
	for _, ns := range []string{a, b} {
		if out, err := cnitool(t, dir, "", "add", "sygc", nstest.Path(ns)); err != nil {
			t.Fatalf("cnitool add %s: %v\n%s", ns, err, out)
		}
	}
	if _, err := l.c.Attach(context.Background(), "cnigc", api.EndpointCreate{Netns: manual, Name: "manual"}); err != nil {
		t.Fatal(err)
	}
	nameA := cni.EndpointName("sygc", containerID(nstest.Path(a)), "eth0")
	gc := fmt.Sprintf(`{"cniVersion":"1.1.0","name":"sygc","type":"switchyard","socket":%q,"network":"cnigc",
		"cni.dev/valid-attachments":[{"containerID":%q,"ifname":"eth0"}]}`, l.sock, containerID(nstest.Path(a)))
	if out, ok := plugin(t, "GC", gc, "", ""); !ok {
		t.Fatalf("GC: %s", out)
	}
	want := []string{nameA, "manual"}
	slices.Sort(want)
	if got := names(endpoints(t, l, "cnigc")); !slices.Equal(got, want) {
		t.Fatalf("endpoints after GC keeping %s: %v, want %v", a, got, want)
	}
	if o, err := nstest.Exec(a, "ping", "-c", "1", "-W", "2", "10.216.7.1"); err != nil {
		t.Fatalf("kept endpoint lost its network: %v %s", err, o)
	}
	if out, err := cnitool(t, dir, "", "gc", "sygc", nstest.Path(a)); err != nil {
		t.Fatalf("cnitool gc: %v\n%s", err, out)
	}
	if got := names(endpoints(t, l, "cnigc")); !slices.Equal(got, []string{"manual"}) {
		t.Fatalf("endpoints after cnitool gc: %v, want [manual]", got)
	}
}
