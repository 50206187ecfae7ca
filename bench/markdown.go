package bench

import (
	"fmt"
	"math"
	"strings"
)

// formatValue prints a figure with precision suited to its size.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// formatRatio prints a ratio with two decimals.
func formatRatio(r float64) string { return fmt.Sprintf("%.2f", r) }

// cell prints an optional figure, "—" when missing.
func cell(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return formatValue(v)
}

// ratioCell prints an optional ratio as "0.52×", "—" when missing.
func ratioCell(r *float64) string {
	if r == nil {
		return "—"
	}
	return formatRatio(*r) + "×"
}

// statusCell summarises a Row's errors for the table; the full messages
// follow the table as notes.
func statusCell(r *Row, note int) string {
	if len(r.Errors) == 0 {
		return "ok"
	}
	return fmt.Sprintf("%d error(s) [%d]", len(r.Errors), note)
}

// escapeCell keeps text from breaking a markdown table.
func escapeCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

// tableColumn is one figure column of the results table.
type tableColumn struct {
	head  string
	value func(*Row) string
}

// figureColumn shows an optional figure.
func figureColumn(head string, f func(*Row) (float64, bool)) tableColumn {
	return tableColumn{head, func(r *Row) string { return cell(f(r)) }}
}

// ratioColumn shows an optional ratio.
func ratioColumn(head string, f func(*Ratios) *float64) tableColumn {
	return tableColumn{head, func(r *Row) string { return ratioCell(f(&r.Ratios)) }}
}

// columns returns the report's figure columns: bulk (and bulk rev with
// BulkReverse), rr p50 and p99, conn/s (and UDP rr p50 and p99 with
// UDPRR), then the ratios in the same order.
func (rep *Report) columns() []tableColumn {
	figs := []tableColumn{figureColumn("bulk Gb/s", (*Row).BulkGbps)}
	ratios := []tableColumn{ratioColumn("bulk ×", func(r *Ratios) *float64 { return r.Bulk })}
	if rep.BulkReverse {
		figs = append(figs, figureColumn("bulk rev Gb/s", (*Row).BulkRevGbps))
		ratios = append(ratios, ratioColumn("bulk rev ×", func(r *Ratios) *float64 { return r.BulkRev }))
	}
	figs = append(figs, figureColumn("rr p50 µs", (*Row).P50US), figureColumn("rr p99 µs", (*Row).P99US),
		figureColumn("conn/s", (*Row).ConnsPerSec))
	ratios = append(ratios, ratioColumn("p50 ×", func(r *Ratios) *float64 { return r.P50 }),
		ratioColumn("conn/s ×", func(r *Ratios) *float64 { return r.ConnRate }))
	if rep.UDPRR {
		figs = append(figs, figureColumn("udp p50 µs", (*Row).UDPP50US), figureColumn("udp p99 µs", (*Row).UDPP99US))
		ratios = append(ratios, ratioColumn("udp p50 ×", func(r *Ratios) *float64 { return r.UDPP50 }))
	}
	return append(figs, ratios...)
}

// Table returns the results as a markdown table, followed by notes with
// the errors of failed rows. Reports with BulkReverse get "bulk rev"
// columns next to the bulk ones, reports with UDPRR "udp" columns after
// conn/s.
func (rep *Report) Table() string {
	var b strings.Builder
	cols := rep.columns()
	b.WriteString("| topology | MTU |")
	for _, c := range cols {
		b.WriteString(" " + c.head + " |")
	}
	b.WriteString(" status |\n|---|--:|" + strings.Repeat("--:|", len(cols)) + "---|\n")
	var notes []string
	for i := range rep.Rows {
		r := &rep.Rows[i]
		for _, e := range r.Errors {
			notes = append(notes, fmt.Sprintf("[%d] %s, MTU %d: %s", len(notes)+1, r.Topology, r.MTU, e))
		}
		first := len(notes) - len(r.Errors) + 1
		fmt.Fprintf(&b, "| %s | %d |", escapeCell(r.Topology), r.MTU)
		for _, c := range cols {
			b.WriteString(" " + c.value(r) + " |")
		}
		b.WriteString(" " + statusCell(r, first) + " |\n")
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			b.WriteString("- " + escapeCell(n) + "\n")
		}
	}
	return b.String()
}

// TargetsMarkdown returns the evaluated targets as a markdown list.
func (rep *Report) TargetsMarkdown() string {
	if len(rep.Targets) == 0 {
		if mtus := rep.targetMTUs(); len(mtus) > 1 {
			return fmt.Sprintf("Targets not evaluated: MTUs %s were not measured.\n", joinMTUs(mtus))
		}
		return fmt.Sprintf("Targets not evaluated: MTU %d was not measured.\n", rep.targetMTUs()[0])
	}
	var b strings.Builder
	for _, t := range rep.Targets {
		fmt.Fprintf(&b, "- **%s** — %s: %s\n", t.Status, t.Goal, t.Detail)
	}
	return b.String()
}

// TableMarkdown returns the part of the report meant for pasting into a
// README: the table (with its error notes, after the Caption line if
// any) and the targets, introduced by a plain line rather than a heading
// so that it fits under any heading level. It has no title; Markdown
// starts with exactly this text.
func (rep *Report) TableMarkdown() string {
	var b strings.Builder
	if rep.Caption != "" {
		b.WriteString(rep.Caption + "\n\n")
	}
	b.WriteString(rep.Table())
	b.WriteString("\n")
	for _, extra := range []string{rep.captureTable(), rep.memoryTable(), rep.portForwardTable()} {
		if extra != "" {
			b.WriteString(extra + "\n")
		}
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintf(&b, "Targets (MTU %s):\n\n", joinMTUs(rep.targetMTUs()))
	}
	b.WriteString(rep.TargetsMarkdown())
	return b.String()
}

// joinMTUs lists MTUs as "1500", "1500 and 9000" or "1500, 9000 and
// 65520".
func joinMTUs(mtus []int) string {
	s := make([]string, len(mtus))
	for i, m := range mtus {
		s[i] = fmt.Sprint(m)
	}
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// title returns the report's title for prose ("Switch benchmark").
func (rep *Report) title() string {
	if rep.Title == "" {
		return "Switch benchmark"
	}
	return rep.Title
}

// Markdown returns the whole report as written to <benchmark>.md:
// TableMarkdown followed by a paragraph on the run conditions and the
// report's Notes. It has no title line, so that the file starts with the
// table (or its Caption).
func (rep *Report) Markdown() string {
	var b strings.Builder
	b.WriteString(rep.TableMarkdown())
	fmt.Fprintf(&b, "\n%s, %s, kernel %s, %d CPUs (load average %s at start), %s. Each measurement ran %gs; "+
		"rr/crr messages are %d bytes. Ratios are against %s at the same MTU "+
		"(bulk and conn/s: higher is better; p50: lower is better).",
		rep.title(), rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep.Host.Kernel, rep.Host.CPUs, rep.Host.LoadAvg,
		rep.Host.GoVersion, rep.DurationS, rep.MessageSize, rep.reference())
	for _, n := range rep.Notes {
		b.WriteString(" " + strings.TrimSpace(n))
	}
	b.WriteString("\n")
	return b.String()
}

// subtitle is a one-line summary of the run conditions.
func (rep *Report) subtitle() string {
	return fmt.Sprintf("%s · kernel %s · %d CPUs · %gs per run · %d B messages",
		rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep.Host.Kernel, rep.Host.CPUs, rep.DurationS, rep.MessageSize)
}
