package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"time"
)

// BulkResult is one iperf3 TCP bulk transfer, client to server.
type BulkResult struct {
	// Gbps is the receiver's goodput in Gbit/s.
	Gbps float64 `json:"gbps"`
	// SentGbps is the sender's rate in Gbit/s.
	SentGbps float64 `json:"sent_gbps"`
	// Retransmits counts the sender's TCP retransmissions.
	Retransmits int `json:"retransmits"`
	// Seconds is the length of the transfer.
	Seconds float64 `json:"seconds"`
}

// iperfJSON is the part of `iperf3 --json` output the harness reads.
type iperfJSON struct {
	Error string `json:"error"`
	End   struct {
		SumSent struct {
			Seconds       float64 `json:"seconds"`
			BitsPerSecond float64 `json:"bits_per_second"`
			Retransmits   int     `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			Seconds       float64 `json:"seconds"`
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
}

// parseIperfJSON reads an iperf3 client's JSON report. A report with an
// "error" field or no received data is an error.
func parseIperfJSON(data []byte) (*BulkResult, error) {
	var j iperfJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("iperf3 json: %w: %s", err, tail(string(data), 200))
	}
	if j.Error != "" {
		return nil, fmt.Errorf("iperf3: %s", j.Error)
	}
	r := &BulkResult{
		Gbps:        j.End.SumReceived.BitsPerSecond / 1e9,
		SentGbps:    j.End.SumSent.BitsPerSecond / 1e9,
		Retransmits: j.End.SumSent.Retransmits,
		Seconds:     j.End.SumReceived.Seconds,
	}
	if r.Gbps <= 0 {
		return nil, errors.New("iperf3: no data received")
	}
	return r, nil
}

// iperfPort is the port iperf3 servers listen on inside a server namespace.
const iperfPort = 5201

// runIperf runs one iperf3 TCP transfer of about dur from pair.Client to
// pair.Server (from server to client when reverse), with a one-off server
// started for it. The client always connects to the server.
func runIperf(ctx context.Context, iperf string, pair Pair, dur time.Duration, reverse bool, log *slog.Logger) (*BulkResult, error) {
	port := strconv.Itoa(iperfPort)
	srv, err := startProc(log, procSpec{
		Label:  "iperf3 server",
		Marker: "Server listening",
		Argv: inNetns(pair.Server.Netns, iperf, "--server", "--one-off", "--forceflush",
			"--bind", pair.Server.IP.String(), "--port", port),
	})
	if err != nil {
		return nil, err
	}
	defer srv.stop(log, sigTerm, 5*time.Second)
	if err := srv.waitReady(ctx, dynamicTimeout); err != nil {
		return nil, err
	}
	secs := max(1, int(math.Ceil(dur.Seconds())))
	host, dport, err := net.SplitHostPort(pair.dial(iperfPort))
	if err != nil {
		return nil, err
	}
	args := []string{iperf, "--client", host, "--port", dport,
		"--time", strconv.Itoa(secs), "--json", "--connect-timeout", "5000"}
	if reverse {
		args = append(args, "--reverse")
	}
	out, err := runCmd(ctx, time.Duration(secs)*time.Second+30*time.Second, inNetns(pair.Client.Netns, args...)...)
	if res, perr := parseIperfJSON(out); perr == nil {
		return res, nil
	} else if err == nil {
		return nil, perr
	} else if len(out) > 0 {
		// iperf3 --json reports its own failures on stdout.
		return nil, fmt.Errorf("%w (%w)", perr, err)
	}
	return nil, err
}

// hostPort joins an address and a port.
func hostPort(ip fmt.Stringer, port int) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}
