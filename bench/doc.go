// Package bench measures switchyard against reference datapaths.
//
// The switch benchmark ([RunSwitch]) builds the same two-endpoint network
// three ways — through the switchyard daemon, through a Linux bridge in a
// helper namespace and through vde_switch with TAP ports — and measures
// TCP bulk throughput (iperf3), 64-byte request/response latency and
// connect/request/close rate between the two endpoint namespaces.
//
// Each way of wiring the endpoints is a [Topology], so later benchmarks
// reuse the measurement code with other datapaths: the NAT benchmark
// ([RunNAT]) reaches a server behind the host through the gateway NAT and
// slirp4netns. The capture benchmark ([RunCapture]) and the proxy
// benchmark ([RunProxy]) set one topology up and measure several variants
// on it in the same run: the switch with no capture, a capture to a file
// and a capture whose filter matches nothing; a published port through
// switchyard's userspace and kernel paths, docker-proxy and kernel DNAT,
// with UDP request/response latency and a memory comparison of many
// mappings (PSS of the daemon against one docker-proxy per port).
//
// The request/response peers ([RunRRServer], [RunRRClient],
// [RunCRRClient], [RunUDPServer], [RunUDPRRClient]) are plain functions;
// the switchyard binary exposes them as hidden `switchyard bench peer ...`
// subcommands so that the harness can run them inside the endpoint
// namespaces.
//
// Everything here needs Linux, root and real network namespaces except the
// peers (which work on loopback) and the report formatting. The package
// builds everywhere; on other systems [RunSwitch] and the topology
// constructors return an error.
package bench
