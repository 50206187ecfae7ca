package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// DefaultDir is where `switchyard up` keeps its state unless told
// otherwise.
const DefaultDir = "/var/lib/switchyard"

// ErrLocked is returned (wrapped) by Open when another process holds the
// state.
var ErrLocked = errors.New("state is in use by another daemon")

// Store is one daemon's state file in a directory, locked for that daemon.
type Store struct {
	path string
	lock *os.File
}

// Name derives a state name from a daemon's control socket path, so
// daemons with different sockets can share a directory:
// "switchyard-" and 8 hex digits of the path's FNV-1a hash.
func Name(socket string) string {
	h := fnv.New32a()
	h.Write([]byte(socket))
	return fmt.Sprintf("switchyard-%08x", h.Sum32())
}

// Open creates dir (mode 0700) if needed and locks the state name in it:
// the state lives in NAME.json, the lock in NAME.lock. It fails with
// ErrLocked when another process holds the lock.
func Open(dir, name string) (*Store, error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return nil, fmt.Errorf("state: bad name %q", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	lockPath := filepath.Join(dir, name+".lock")
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state: %s: %w", lockPath, ErrLocked)
		}
		return nil, fmt.Errorf("state: lock %s: %w", lockPath, err)
	}
	return &Store{path: filepath.Join(dir, name+".json"), lock: f}, nil
}

// Path returns the state file's path.
func (s *Store) Path() string { return s.path }

// Load reads the state; found is false (and st empty) when there is none.
func (s *Store) Load() (st State, found bool, err error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("state: %w", err)
	}
	st, err = Decode(b)
	if err != nil {
		return State{}, true, fmt.Errorf("%s: %w", s.path, err)
	}
	return st, true, nil
}

// Save replaces the state atomically (write, sync, rename, sync the
// directory); the file is mode 0600.
func (s *Store) Save(st State) error {
	b, err := Encode(st)
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("state: save: %w", err)
	}
	return syncDir(filepath.Dir(s.path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("state: sync %s: %w", dir, err)
	}
	return nil
}

// Remove deletes the state and its lock file and releases the lock: the
// next daemon starts afresh.
func (s *Store) Remove() error {
	err := os.Remove(s.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if rerr := os.Remove(s.lock.Name()); err == nil {
		err = rerr
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("state: remove: %w", err)
	}
	return nil
}

// Close releases the lock and keeps the state for the next daemon.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close() // closing the descriptor drops the flock
	s.lock = nil
	return err
}

// strictUnmarshal decodes exactly one JSON value, refusing unknown fields.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the state document")
	}
	return nil
}
