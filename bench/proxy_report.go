package bench

import (
	"fmt"
	"strings"
)

// ProxyMemory compares the memory of many published ports: the switchyard
// daemon with Mappings ports published against one docker-proxy process
// per port. Sizes are proportional set sizes in KiB.
type ProxyMemory struct {
	// Mappings is the number of published ports, from PortBase on (host
	// and endpoint ports alike).
	Mappings int `json:"mappings"`
	PortBase int `json:"port_base,omitempty"`
	// SwitchyardBaseKB is the daemon's PSS before publishing them,
	// SwitchyardKB with them published (--path userspace), and
	// SwitchyardAfterTrafficKB after the traffic runs (0: not read).
	SwitchyardBaseKB         int64 `json:"switchyard_base_kb"`
	SwitchyardKB             int64 `json:"switchyard_kb"`
	SwitchyardAfterTrafficKB int64 `json:"switchyard_after_traffic_kb,omitempty"`
	// PublishSeconds is how long publishing the range took.
	PublishSeconds float64 `json:"publish_s"`
	// DockerProxyStarted counts the docker-proxy processes started (all
	// Mappings unless the start limit was reached), DockerProxyKB is
	// their summed PSS and DockerProxyStartSeconds how long starting
	// them took.
	DockerProxyStarted      int     `json:"docker_proxy_started"`
	DockerProxyKB           int64   `json:"docker_proxy_kb"`
	DockerProxyStartSeconds float64 `json:"docker_proxy_start_s"`
	// Errors says what failed.
	Errors []string `json:"errors,omitempty"`
}

// SwitchyardMiB returns the daemon's PSS with the mappings, in MiB, and
// whether it was measured.
func (m *ProxyMemory) SwitchyardMiB() (float64, bool) {
	if m == nil || m.SwitchyardKB <= 0 {
		return 0, false
	}
	return float64(m.SwitchyardKB) / 1024, true
}

// Extrapolated reports whether fewer docker-proxy processes than mappings
// ran, so that DockerProxyMiB scales their PSS up.
func (m *ProxyMemory) Extrapolated() bool {
	return m.DockerProxyStarted > 0 && m.DockerProxyStarted < m.Mappings
}

// DockerProxyMiB returns the summed PSS of Mappings docker-proxy
// processes in MiB (extrapolated from those started when fewer ran) and
// whether any was measured.
func (m *ProxyMemory) DockerProxyMiB() (float64, bool) {
	if m == nil || m.DockerProxyStarted == 0 || m.DockerProxyKB <= 0 {
		return 0, false
	}
	kb := float64(m.DockerProxyKB) * float64(m.Mappings) / float64(m.DockerProxyStarted)
	return kb / 1024, true
}

// memoryTable returns the markdown table of the memory measurement, ""
// when there was none.
func (rep *Report) memoryTable() string {
	m := rep.Memory
	if m == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("| memory (PSS) | processes | mappings | total MiB | per mapping KiB |\n")
	b.WriteString("|---|--:|--:|--:|--:|\n")
	perMapping := func(mib float64) string { return formatValue(mib * 1024 / float64(m.Mappings)) }
	sy, syok := m.SwitchyardMiB()
	syCells := []string{"—", "—"}
	if syok {
		syCells = []string{formatValue(sy), perMapping(sy)}
	}
	fmt.Fprintf(&b, "| switchyard daemon | 1 | %d | %s | %s |\n", m.Mappings, syCells[0], syCells[1])
	dp, dpok := m.DockerProxyMiB()
	dpCells := []string{"—", "—"}
	if dpok {
		dpCells = []string{formatValue(dp), perMapping(dp)}
	}
	name, procs := "docker-proxy", fmt.Sprint(m.DockerProxyStarted)
	if m.Extrapolated() {
		name, procs = "docker-proxy (extrapolated)", fmt.Sprintf("%d of %d", m.DockerProxyStarted, m.Mappings)
	}
	fmt.Fprintf(&b, "| %s | %s | %d | %s | %s |\n", name, procs, m.Mappings, dpCells[0], dpCells[1])
	b.WriteString("\n" + m.summary() + "\n")
	return b.String()
}

// summary is a sentence on how the memory figures came about.
func (m *ProxyMemory) summary() string {
	var parts []string
	if m.SwitchyardBaseKB > 0 {
		ports := fmt.Sprintf("the %d ports", m.Mappings)
		if m.PortBase > 0 {
			ports = fmt.Sprintf("ports %d-%d", m.PortBase, m.PortBase+m.Mappings-1)
		}
		s := fmt.Sprintf("switchyard daemon: %s MiB before publishing %s", mib(m.SwitchyardBaseKB), ports)
		if m.SwitchyardKB > 0 {
			s += fmt.Sprintf(" (%s KiB per mapping added; publishing took %ss)",
				formatValue(float64(m.SwitchyardKB-m.SwitchyardBaseKB)/float64(m.Mappings)), formatValue(m.PublishSeconds))
		}
		if m.SwitchyardAfterTrafficKB > 0 {
			s += fmt.Sprintf(", %s MiB after the traffic runs", mib(m.SwitchyardAfterTrafficKB))
		}
		parts = append(parts, s)
	}
	if m.DockerProxyStarted > 0 {
		s := fmt.Sprintf("docker-proxy: %d processes started in %ss", m.DockerProxyStarted, formatValue(m.DockerProxyStartSeconds))
		if m.Extrapolated() {
			s += fmt.Sprintf(" (the start limit was reached: the total is their PSS × %d/%d)", m.Mappings, m.DockerProxyStarted)
		}
		parts = append(parts, s)
	}
	for _, e := range m.Errors {
		parts = append(parts, "error: "+e)
	}
	if len(parts) == 0 {
		return "Memory was not measured."
	}
	return "Memory: " + strings.Join(parts, "; ") + "."
}

// mib formats KiB as MiB.
func mib(kb int64) string { return formatValue(float64(kb) / 1024) }

// memoryMetric is the chart panel of the memory measurement; its rows
// are built by memoryRows.
var memoryMetric = chartMetric{title: "PSS for the mappings, MiB (lower is better)", value: func(r *Row) (float64, bool) {
	if r.Bulk == nil {
		return 0, false
	}
	return r.Bulk.Gbps, true
}}

// memoryChart returns a report whose rows carry the memory figures (in
// the bulk field, which memoryMetric shows) under the variants' names,
// for drawing with panel; nil when memory was not measured.
func (rep *Report) memoryChart() *Report {
	m := rep.Memory
	if m == nil {
		return nil
	}
	row := func(name string, v float64, ok bool) Row {
		r := Row{Topology: name}
		if ok {
			r.Bulk = &BulkResult{Gbps: v}
		}
		return r
	}
	sy, syok := m.SwitchyardMiB()
	dp, dpok := m.DockerProxyMiB()
	return &Report{Rows: []Row{row(ProxyUserspace, sy, syok), row(ProxyDocker, dp, dpok)}}
}
