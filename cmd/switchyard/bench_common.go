package main

import (
	"time"

	"github.com/spf13/pflag"
)

// benchCommonOpts are the flags every `switchyard bench` benchmark has.
type benchCommonOpts struct {
	out          string
	duration     time.Duration
	rrIterations int
}

// register declares --out, --duration and --rr-iterations for the
// benchmark name (files name.md, .svg, .json); runs describes what
// --duration bounds.
func (o *benchCommonOpts) register(fs *pflag.FlagSet, name, runs string) {
	fs.StringVar(&o.out, "out", "bench-out", "directory for "+name+".md, "+name+".svg and "+name+".json")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each "+runs+" run")
	fs.IntVar(&o.rrIterations, "rr-iterations", 0, "also stop each rr run after this many exchanges (0: duration only)")
}
