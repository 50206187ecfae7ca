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

// Table returns the results as a markdown table, followed by notes with
// the errors of failed rows. Reports with BulkReverse get "bulk rev"
// columns next to the bulk ones.
func (rep *Report) Table() string {
	var b strings.Builder
	if rep.BulkReverse {
		b.WriteString("| topology | MTU | bulk Gb/s | bulk rev Gb/s | rr p50 µs | rr p99 µs | conn/s | bulk × | bulk rev × | p50 × | conn/s × | status |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	} else {
		b.WriteString("| topology | MTU | bulk Gb/s | rr p50 µs | rr p99 µs | conn/s | bulk × | p50 × | conn/s × | status |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	}
	var notes []string
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if len(r.Errors) > 0 {
			for _, e := range r.Errors {
				notes = append(notes, fmt.Sprintf("[%d] %s, MTU %d: %s", len(notes)+1, r.Topology, r.MTU, e))
			}
		}
		first := len(notes) - len(r.Errors) + 1
		bulk, bok := r.BulkGbps()
		p50, p50ok := r.P50US()
		p99, p99ok := r.P99US()
		cps, cok := r.ConnsPerSec()
		if rep.BulkReverse {
			rev, rok := r.BulkRevGbps()
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				escapeCell(r.Topology), r.MTU, cell(bulk, bok), cell(rev, rok), cell(p50, p50ok), cell(p99, p99ok), cell(cps, cok),
				ratioCell(r.Ratios.Bulk), ratioCell(r.Ratios.BulkRev), ratioCell(r.Ratios.P50), ratioCell(r.Ratios.ConnRate),
				statusCell(r, first))
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			escapeCell(r.Topology), r.MTU, cell(bulk, bok), cell(p50, p50ok), cell(p99, p99ok), cell(cps, cok),
			ratioCell(r.Ratios.Bulk), ratioCell(r.Ratios.P50), ratioCell(r.Ratios.ConnRate), statusCell(r, first))
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
// README: the table (with its error notes) and the targets, introduced by
// a plain line rather than a heading so that it fits under any heading
// level. It has no title; Markdown starts with exactly this text.
func (rep *Report) TableMarkdown() string {
	var b strings.Builder
	b.WriteString(rep.Table())
	b.WriteString("\n")
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
// table.
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
