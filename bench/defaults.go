package bench

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// common are the settings every benchmark has; fill validates them and
// sets the defaults (output "bench-out", 5 s per measurement, defMTUs).
type common struct {
	name   string // "bench nat", for messages
	binary string
	outDir *string
	dur    *time.Duration
	mtus   *[]int
}

func (c common) fill(defMTUs []int, maxMTU int) error {
	if c.binary == "" {
		return errors.New(c.name + ": no switchyard binary")
	}
	if *c.outDir == "" {
		*c.outDir = "bench-out"
	}
	if *c.dur <= 0 {
		*c.dur = 5 * time.Second
	}
	if len(*c.mtus) == 0 {
		*c.mtus = append([]int(nil), defMTUs...)
	}
	for _, m := range *c.mtus {
		if m < 576 || m > maxMTU {
			return fmt.Errorf("%s: MTU %d out of range 576..%d", c.name, m, maxMTU)
		}
	}
	return nil
}

// fillOne is fill for benchmarks measured at a single MTU.
func (c common) fillOne(mtu *int, maxMTU int) error {
	mtus := []int{}
	if *mtu != 0 {
		mtus = []int{*mtu}
	}
	c.mtus = &mtus
	if err := c.fill([]int{1500}, maxMTU); err != nil {
		return err
	}
	*mtu = mtus[0]
	return nil
}

// topologies sets *names to all (in that order) when empty, and checks
// that each name is one of all.
func (c common) topologies(names *[]string, all ...string) error {
	if len(*names) == 0 {
		*names = slices.Clone(all)
	}
	for _, t := range *names {
		if !slices.Contains(all, t) {
			want := strings.Join(all[:len(all)-1], ", ") + " or " + all[len(all)-1]
			return fmt.Errorf("%s: unknown topology %q (want %s)", c.name, t, want)
		}
	}
	return nil
}
