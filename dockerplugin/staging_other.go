//go:build !linux

package dockerplugin

import "errors"

var errUnsupported = errors.New("docker plugin: needs Linux network namespaces")

func createNetns(string) error      { return errUnsupported }
func removeNetns(string) error      { return errUnsupported }
func moveLink(string, string) error { return errUnsupported }
