package bench

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/nsutil/nstest"
)

func TestIntegrationProxy(t *testing.T) {
	bin := integrationBinary(t)
	for _, tool := range []string{"nft", DefaultDockerProxy} {
		if _, err := exec.LookPath(tool); err != nil {
			nstest.Skipf(t, "needs %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := t.TempDir()
	rep, err := RunProxy(ctx, ProxyConfig{Binary: bin, OutDir: out, Duration: time.Second, Mappings: 20}, testLogger(t))
	checkNoLeftovers(t)
	for _, link := range []string{proxyLinkName("sybc"), proxyLinkName("sybd")} {
		if _, lerr := net.InterfaceByName(link); lerr == nil {
			t.Errorf("link %s left behind", link)
		}
	}
	if exec.Command("nft", "list", "table", "ip", nftTable()).Run() == nil {
		t.Errorf("nftables table %s left behind", nftTable())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep.Markdown())
	if len(rep.Rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rep.Rows))
	}
	for _, r := range rep.Rows {
		if len(r.Errors) > 0 {
			t.Errorf("%s: %v", r.Topology, r.Errors)
			continue
		}
		if r.Bulk == nil || r.RR == nil || r.CRR == nil || r.CRR.Conns == 0 || r.UDPRR == nil || r.UDPRR.Iterations == 0 {
			t.Errorf("%s: incomplete figures: %+v", r.Topology, r.Metrics)
		}
	}
	m := rep.Memory
	if m == nil || len(m.Errors) > 0 || m.SwitchyardKB == 0 || m.DockerProxyStarted != 20 || m.DockerProxyKB == 0 {
		t.Errorf("memory %+v", m)
	}
	if len(rep.Targets) != 4 {
		t.Errorf("targets %+v", rep.Targets)
	}
	for _, f := range []string{"proxy.md", "proxy.svg", "proxy.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
