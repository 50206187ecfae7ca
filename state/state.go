// Package state keeps a switchyard daemon's state on disk, so that a
// daemon restarted after a crash (or a live-restore shutdown) takes over
// the endpoints, networks and published ports its predecessor left.
//
// The state is one JSON document, replaced atomically: it is written to a
// temporary file in the same directory, synced, renamed over the old one
// and the directory synced, so a reader (or a daemon killed at any moment)
// sees either the old or the new state, never a mix. A lock file held with
// flock(2) keeps two daemons from sharing one state.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/api"
)

// Version is the format version Save writes and Load accepts.
const Version = 1

// ErrVersion is returned (wrapped) by Load and Decode for a state written
// in another format version.
var ErrVersion = errors.New("unsupported state version")

// State is what a daemon needs to take over from its predecessor.
type State struct {
	// Version is the format version (Version).
	Version int `json:"version"`
	// Networks are the user-defined networks, as they were created.
	Networks []api.NetworkCreate `json:"networks,omitempty"`
	// Endpoints are the attached endpoints of every network.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	// Pending are endpoints whose interface was being created or removed
	// when the state was written: a restarted daemon removes what is
	// left of them.
	Pending []Endpoint `json:"pending,omitempty"`
	// Published are the published port mappings.
	Published []Published `json:"published,omitempty"`
	// Leases are the networks' bound dynamic DHCP leases.
	Leases []Lease `json:"leases,omitempty"`
	// OldForward is net.ipv4.ip_forward as it was before the daemon turned
	// it on for the kernel path ("" if it did not change it).
	OldForward string `json:"old_forward,omitempty"`
}

// Endpoint is an endpoint as the API describes it, plus the identity of
// its namespace: a path may come to name another namespace, and a daemon
// never touches interfaces in a namespace that is not the one it attached.
type Endpoint struct {
	api.Endpoint
	// NetnsDev and NetnsIno are the device and inode of the namespace
	// file (as stat(2) reports them for Netns).
	NetnsDev uint64 `json:"netns_dev"`
	NetnsIno uint64 `json:"netns_ino"`
}

// Published is a published port mapping.
type Published struct {
	Network string `json:"network"`
	// Spec is the mapping as `switchyard publish` takes it.
	Spec string `json:"spec"`
	// Path is the path the mapping was installed on (both, kernel or
	// userspace).
	Path string `json:"path"`
}

// Lease is a bound dynamic DHCP lease.
type Lease struct {
	Network string    `json:"network"`
	MAC     string    `json:"mac"`
	IP      string    `json:"ip"`
	Expires time.Time `json:"expires"`
}

// Encode returns st as JSON with the current Version.
func Encode(st State) ([]byte, error) {
	st.Version = Version
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("state: encode: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses a state document, refusing unknown fields and other
// versions.
func Decode(b []byte) (State, error) {
	var st State
	if err := strictUnmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("state: decode: %w", err)
	}
	if st.Version != Version {
		return State{}, fmt.Errorf("state: version %d: %w (want %d)", st.Version, ErrVersion, Version)
	}
	return st, nil
}
