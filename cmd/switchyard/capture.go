package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchyard/switchyard/api"
	"github.com/switchyard/switchyard/capture"
)

// cmdCapture streams a capture from the daemon: as pcapng to -w FILE (or
// - for stdout), or as tcpdump-like lines.
func cmdCapture(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("capture")
	var cf clientFlags
	var req api.CaptureRequest
	var out string
	cf.register(fs)
	fs.StringArrayVar(&req.Ports, "port", nil, "capture only this port: an endpoint name or gateway (repeatable)")
	fs.StringVarP(&out, "write", "w", "", "write pcapng to FILE (- for stdout) instead of printing lines")
	fs.StringVarP(&req.Filter, "filter", "f", "", "pcap-filter expression, e.g. 'tcp port 80 and host 10.90.0.2'")
	fs.IntVarP(&req.Count, "count", "c", 0, "stop after this many frames")
	fs.DurationVar(&req.Duration, "duration", 0, "stop after this long")
	fs.IntVar(&req.Snaplen, "snaplen", 0, "bytes kept per frame (262144)")
	fs.BoolVar(&req.Both, "both", false, "also record each frame's egress copies (default: once, on the port it entered by; with --port, both directions of those ports)")
	pos, err := parse(fs, args, 0, 1, "capture [NETWORK] [--port NAME]... [--both] [-w FILE] [-f FILTER] [-c COUNT] [--duration D] [--snaplen N]")
	if err != nil {
		return err
	}
	if cf.json {
		return usagef("capture: --json is not supported: use -w FILE for pcapng, or the line output")
	}
	if len(pos) == 1 {
		req.Network = pos[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	body, err := cf.client().Capture(ctx, req)
	if err != nil {
		return err
	}
	defer body.Close()
	sink, closeSink, err := captureSink(out, stdout)
	if err != nil {
		return err
	}
	// The daemon answers once the capture is registered: from here on
	// no frame is missed. tcpdump says the same on stderr.
	fmt.Fprintf(stderr, "listening on network %s, link-type EN10MB (Ethernet), snapshot length %d bytes\n",
		cmp.Or(req.Network, "default"), cmp.Or(req.Snaplen, 262144))
	end, err := copyCapture(capture.NewStreamReader(body), sink)
	if cerr := closeSink(end.Dropped); err == nil {
		err = cerr
	}
	fmt.Fprintf(stderr, "%d packets captured\n%d packets dropped by switchyard\n", end.Captured, end.Dropped)
	if ctx.Err() != nil {
		return nil // interrupted: a normal way to stop
	}
	return err
}

// frameSink receives the stream's ports and frames.
type frameSink interface {
	port(network, name string) error
	frame(capture.Frame) error
}

// copyCapture moves the stream into the sink and returns the last
// counters seen (the final ones unless the stream was cut).
func copyCapture(r *capture.StreamReader, sink frameSink) (capture.End, error) {
	var last capture.End
	frames := uint64(0)
	for {
		fr, end, err := r.Next()
		switch {
		case err != nil:
			last.Captured = max(last.Captured, frames)
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
				return last, nil
			}
			return last, err
		case end != nil:
			last = *end
			if end.Final {
				return last, nil
			}
		case fr.OrigLen < 0:
			if err := sink.port(fr.Network, fr.Port); err != nil {
				return last, err
			}
		default:
			frames++
			if err := sink.frame(fr); err != nil {
				return last, err
			}
		}
	}
}

func captureSink(out string, stdout io.Writer) (frameSink, func(dropped uint64) error, error) {
	if out == "" {
		s := &lineSink{w: stdout, f: capture.NewFormatter()}
		return s, func(uint64) error { return nil }, nil
	}
	w, closeFile := stdout, func() error { return nil }
	if out != "-" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("capture file: %w", err)
		}
		w, closeFile = f, f.Close
	}
	s := &pcapSink{w: capture.NewPcapngWriter(w, 262144, false)}
	return s, func(dropped uint64) error {
		err := s.w.Close(dropped)
		if cerr := closeFile(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

type lineSink struct {
	w io.Writer
	f *capture.Formatter
}

func (s *lineSink) port(string, string) error { return nil }
func (s *lineSink) frame(fr capture.Frame) error {
	_, err := s.w.Write(s.f.Format(fr))
	return err
}

type pcapSink struct{ w *capture.PcapngWriter }

func (s *pcapSink) port(network, name string) error {
	_, err := s.w.AddPort(network, name)
	return err
}

func (s *pcapSink) frame(fr capture.Frame) error {
	if err := s.w.WriteFrame(fr); err != nil {
		return err
	}
	return s.w.Flush()
}
