// Package api defines switchyard's control API: the JSON documents the
// daemon serves over its unix socket and a client for them. Routes:
//
//	GET    /v1/networks                        list networks
//	POST   /v1/networks                        create (NetworkCreate)
//	DELETE /v1/networks/{name}                 remove
//	POST   /v1/networks/{name}/endpoints       attach (EndpointCreate)
//	DELETE /v1/networks/{name}/endpoints/{ep}  detach
//	GET    /v1/endpoints[?network=NAME]        list endpoints
//	GET    /v1/networks/{name}/fdb             forwarding table
//	GET    /v1/stats                           counters
//
// Errors come back as {"error": "..."} with a 4xx/5xx status.
package api

import (
	"time"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/switchyard/switchyard.sock"

// NetworkCreate asks for a new network.
type NetworkCreate struct {
	Name    string `json:"name"`
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway,omitempty"`
	VLAN    uint16 `json:"vlan,omitempty"`
}

// Network describes a network.
type Network struct {
	Name      string `json:"name"`
	Subnet    string `json:"subnet"`
	Gateway   string `json:"gateway"`
	VLAN      uint16 `json:"vlan,omitempty"`
	Builtin   bool   `json:"builtin,omitempty"`
	Endpoints int    `json:"endpoints"`
}

// EndpointCreate attaches a network namespace to a network.
type EndpointCreate struct {
	// Netns is a path, a name under /var/run/netns, or pid:N.
	Netns  string `json:"netns"`
	Name   string `json:"name,omitempty"`
	IP     string `json:"ip,omitempty"`
	MAC    string `json:"mac,omitempty"`
	IfName string `json:"ifname,omitempty"`
	MTU    int    `json:"mtu,omitempty"`
}

// Endpoint describes an attached endpoint.
type Endpoint struct {
	Name         string `json:"name"`
	Network      string `json:"network"`
	Netns        string `json:"netns"`
	IfName       string `json:"ifname"`
	MAC          string `json:"mac"`
	IP           string `json:"ip"`
	MTU          int    `json:"mtu"`
	DefaultRoute bool   `json:"default_route"`
	Offload      bool   `json:"offload"`
}

// FDBEntry is one learned MAC address.
type FDBEntry struct {
	MAC  string        `json:"mac"`
	VLAN uint16        `json:"vlan,omitempty"`
	Port string        `json:"port"`
	Age  time.Duration `json:"age_ns"`
}

// PortStats are one switch port's counters.
type PortStats struct {
	Name     string `json:"name"`
	RxFrames uint64 `json:"rx_frames"`
	RxBytes  uint64 `json:"rx_bytes"`
	RxDrops  uint64 `json:"rx_drops"`
	TxFrames uint64 `json:"tx_frames"`
	TxBytes  uint64 `json:"tx_bytes"`
	TxDrops  uint64 `json:"tx_drops"`
	Errors   uint64 `json:"errors"`
}

// NetworkStats are one network's counters.
type NetworkStats struct {
	Network    string      `json:"network"`
	FDBEntries int64       `json:"fdb_entries"`
	FDBMax     int64       `json:"fdb_max"`
	FDBEvicted uint64      `json:"fdb_evicted"`
	Floods     uint64      `json:"floods"`
	Ports      []PortStats `json:"ports"`
}

// Stats is the answer to GET /v1/stats.
type Stats struct {
	Networks []NetworkStats `json:"networks"`
}

// Error is the body of every error reply.
type Error struct {
	Error string `json:"error"`
}
