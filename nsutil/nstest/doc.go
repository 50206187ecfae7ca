// Package nstest helps tests that need network namespaces and TAP devices:
// it skips tests that lack the privileges, and creates throw-away named
// namespaces that are deleted when the test ends. It only works on Linux.
package nstest
