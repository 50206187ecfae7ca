// Package bench measures switchyard against reference datapaths.
//
// The switch benchmark ([RunSwitch]) builds the same two-endpoint network
// three ways — through the switchyard daemon, through a Linux bridge in a
// helper namespace and through vde_switch with TAP ports — and measures
// TCP bulk throughput (iperf3), 64-byte request/response latency and
// connect/request/close rate between the two endpoint namespaces.
//
// Each way of wiring the endpoints is a [Topology], so later benchmarks
// (NAT, port publishing, rootless networking) can reuse the measurement
// code with other datapaths. The request/response peers ([RunRRServer],
// [RunRRClient], [RunCRRClient]) are plain functions; the switchyard binary
// exposes them as hidden `switchyard bench peer ...` subcommands so that
// the harness can run them inside the endpoint namespaces.
//
// Everything here needs Linux, root and real network namespaces except the
// peers (which work on loopback) and the report formatting. The package
// builds everywhere; on other systems [RunSwitch] and the topology
// constructors return an error.
package bench
