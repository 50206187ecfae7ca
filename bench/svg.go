package bench

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
)

// chartMetric is one panel of the SVG chart.
type chartMetric struct {
	title string
	value func(*Row) (float64, bool)
	// group labels a group of bars; nil means "MTU <mtu>".
	group func(mtu int) string
}

// chartMetrics are the panels, in order.
var chartMetrics = []chartMetric{
	{title: "TCP bulk, Gb/s (higher is better)", value: (*Row).BulkGbps},
	{title: "64 B rr p50, µs (lower is better)", value: (*Row).P50US},
	{title: "64 B rr p99, µs (lower is better)", value: (*Row).P99US},
	{title: "connect/request/close, conn/s (higher is better)", value: (*Row).ConnsPerSec},
}

// bulkRevMetric is the extra panel of reports with BulkReverse.
var bulkRevMetric = chartMetric{title: "TCP bulk, server → client, Gb/s (higher is better)", value: (*Row).BulkRevGbps}

// udpMetrics are the extra panels of reports with UDPRR.
var udpMetrics = []chartMetric{
	{title: "64 B UDP rr p50, µs (lower is better)", value: (*Row).UDPP50US},
	{title: "64 B UDP rr p99, µs (lower is better)", value: (*Row).UDPP99US},
}

// metrics returns the report's panels: chartMetrics, with the reverse bulk
// after the bulk panel and the UDP panels last when they were measured.
func (rep *Report) metrics() []chartMetric {
	m := slices.Clone(chartMetrics)
	if rep.BulkReverse {
		m = slices.Insert(m, 1, bulkRevMetric)
	}
	if rep.UDPRR {
		m = append(m, udpMetrics...)
	}
	return m
}

// chartTitle heads the chart.
func (rep *Report) chartTitle() string {
	if rep.Title == "" {
		return "switchyard switch benchmark"
	}
	return "switchyard " + rep.Title
}

// topologyColors gives the built-in topologies fixed colours; others take
// the palette in order.
var topologyColors = map[string]string{
	"switchyard":     "#4e79a7",
	"kernel-bridge":  "#59a14f",
	"vde_switch":     "#e15759",
	"switchyard-nat": "#4e79a7",
	"slirp4netns":    "#e15759",
	TopologyPasta:    "#f28e2b",
	CaptureNone:      "#59a14f",
	CaptureFile:      "#4e79a7",
	CaptureFilter:    "#76b7b2",
	ProxyUserspace:   "#4e79a7",
	ProxyKernel:      "#76b7b2",
	ProxyDocker:      "#e15759",
	ProxyKernelVeth:  "#59a14f",
}

// palette colours topologies without a fixed colour.
var palette = []string{"#f28e2b", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"}

// Chart geometry, in SVG user units.
const (
	svgWidth    = 980
	panelW      = 470
	panelH      = 290
	panelGap    = 20
	headerH     = 70
	plotLeft    = 60
	plotRight   = 15
	plotTop     = 40
	plotBottom  = 40
	svgFontFace = "font-family=\"sans-serif\""
)

// svgPanel is one panel of the chart: a metric of a report's rows over
// some topologies and MTUs.
type svgPanel struct {
	m     chartMetric
	rep   *Report
	topos []string
	mtus  []int
}

// panels returns the chart's panels: the report's metrics, then the
// memory comparison and the port-forward section's metrics when present.
func (rep *Report) panels() []svgPanel {
	topos, mtus := rep.axes()
	var ps []svgPanel
	for _, m := range rep.metrics() {
		ps = append(ps, svgPanel{m, rep, topos, mtus})
	}
	if memRep := rep.memoryChart(); memRep != nil {
		m := memoryMetric
		m.group = func(int) string { return fmt.Sprintf("%d mappings", rep.Memory.Mappings) }
		memTopos, _ := memRep.axes()
		ps = append(ps, svgPanel{m, memRep, memTopos, []int{0}})
	}
	if pf := rep.PortForward; pf != nil {
		fwd := pf.report()
		fwdTopos, fwdMTUs := fwd.axes()
		for _, m := range portForwardMetrics {
			ps = append(ps, svgPanel{m, fwd, fwdTopos, fwdMTUs})
		}
	}
	return ps
}

// SVG returns a grouped bar chart of the report: one panel per metric,
// a group of bars per MTU, one bar per topology.
func (rep *Report) SVG() string {
	panels := rep.panels()
	var topos []string
	for _, p := range panels {
		for _, t := range p.topos {
			if !slices.Contains(topos, t) {
				topos = append(topos, t)
			}
		}
	}
	colors := map[string]string{}
	next := 0
	for _, t := range topos {
		if c, ok := topologyColors[t]; ok {
			colors[t] = c
		} else {
			colors[t] = palette[next%len(palette)]
			next++
		}
	}
	rowsN := (len(panels) + 1) / 2
	height := headerH + rowsN*(panelH+panelGap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="12">`+"\n",
		svgWidth, height, svgWidth, height, svgFontFace)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="26" font-size="18" font-weight="bold">%s</text>`+"\n", panelGap,
		html.EscapeString(rep.chartTitle()))
	fmt.Fprintf(&b, `<text x="%d" y="26" text-anchor="end" fill="#555">%s</text>`+"\n", svgWidth-panelGap,
		html.EscapeString(rep.subtitle()))
	x := panelGap
	for _, t := range topos {
		fmt.Fprintf(&b, `<rect x="%d" y="42" width="14" height="14" fill="%s"/>`, x, colors[t])
		fmt.Fprintf(&b, `<text x="%d" y="54">%s</text>`+"\n", x+20, html.EscapeString(t))
		x += 40 + 8*len(t)
	}
	for i, p := range panels {
		px := panelGap/2 + (i%2)*(panelW+panelGap/2)
		py := headerH + (i/2)*(panelH+panelGap)
		p.rep.panel(&b, p.m, px, py, p.topos, p.mtus, colors)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// axes returns the topologies (in order of first appearance) and the MTUs
// (as configured, else in order of appearance) of the report.
func (rep *Report) axes() (topos []string, mtus []int) {
	mtus = slices.Clone(rep.MTUs)
	for _, r := range rep.Rows {
		if !slices.Contains(topos, r.Topology) {
			topos = append(topos, r.Topology)
		}
		if !slices.Contains(mtus, r.MTU) {
			mtus = append(mtus, r.MTU)
		}
	}
	return topos, mtus
}

// panel draws one metric's bars with its own y scale.
func (rep *Report) panel(b *strings.Builder, m chartMetric, px, py int, topos []string, mtus []int, colors map[string]string) {
	fmt.Fprintf(b, `<g transform="translate(%d,%d)">`+"\n", px, py)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#fafafa" stroke="#ddd"/>`+"\n", panelW, panelH)
	fmt.Fprintf(b, `<text x="%d" y="24" font-size="14" font-weight="bold">%s</text>`+"\n", plotLeft, html.EscapeString(m.title))
	maxV := 0.0
	for i := range rep.Rows {
		if v, ok := m.value(&rep.Rows[i]); ok {
			maxV = math.Max(maxV, v)
		}
	}
	step, top := niceScale(maxV)
	plotW := panelW - plotLeft - plotRight
	plotH := panelH - plotTop - plotBottom
	baseY := plotTop + plotH
	yOf := func(v float64) float64 { return float64(baseY) - v/top*float64(plotH) }
	for t := 0.0; t <= top*1.0001; t += step {
		y := yOf(t)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, plotLeft, plotLeft+plotW, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", plotLeft-6, y+4, formatTick(t, step))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>`+"\n", plotLeft, plotLeft+plotW, baseY, baseY)
	if len(mtus) == 0 || len(topos) == 0 {
		b.WriteString("</g>\n")
		return
	}
	groupW := float64(plotW) / float64(len(mtus))
	barW := groupW * 0.8 / float64(len(topos))
	for gi, mtu := range mtus {
		gx := float64(plotLeft) + float64(gi)*groupW + groupW*0.1
		label := fmt.Sprintf("MTU %d", mtu)
		if m.group != nil {
			label = m.group(mtu)
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="13">%s</text>`+"\n", gx+groupW*0.4, baseY+24, html.EscapeString(label))
		for ti, topo := range topos {
			x := gx + float64(ti)*barW
			cx := x + barW/2
			r := rep.Find(topo, mtu)
			var v float64
			ok := false
			if r != nil {
				v, ok = m.value(r)
			}
			if !ok {
				fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#999" font-size="11">n/a</text>`+"\n", cx, baseY-4)
				continue
			}
			y := yOf(v)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`,
				x+1, y, barW-2, float64(baseY)-y, colors[topo], html.EscapeString(topo), html.EscapeString(label), formatValue(v))
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%s</text>`+"\n", cx, y-4, formatValue(v))
		}
	}
	b.WriteString("</g>\n")
}

// formatTick prints an axis tick with as many decimals as step needs.
func formatTick(v, step float64) string {
	decimals := max(0, int(-math.Floor(math.Log10(step))))
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// niceScale picks a tick step of 1, 2 or 5 × 10^k giving about four
// ticks, and the axis top (a multiple of step not below maxV).
func niceScale(maxV float64) (step, top float64) {
	if maxV <= 0 || math.IsNaN(maxV) || math.IsInf(maxV, 0) {
		return 0.25, 1
	}
	raw := maxV / 4
	exp := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * exp
	for _, f := range []float64{1, 2, 5} {
		if f*exp >= raw {
			step = f * exp
			break
		}
	}
	top = math.Ceil(maxV/step) * step
	return step, top
}
