//go:build !linux

package dockerplugin

import "errors"

var errUnsupported = errors.New("docker plugin: needs Linux network namespaces")

func createNetns(string) error { return errUnsupported }
func removeNetns(string) error { return errUnsupported }

// nsHandle stands for a namespace handle where there are none.
type nsHandle int

func (nsHandle) Close() error { return nil }

func moveLink(string, nsHandle, string) error { return errUnsupported }
func ownNetns() (nsHandle, error)             { return 0, errUnsupported }
