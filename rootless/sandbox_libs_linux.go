package rootless

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// loaderFiles lists what the kernel and the dynamic loader need to exec
// the running binary again inside the sandbox: its ELF interpreter (at
// the path the binary names) and the shared objects the process has
// mapped (at their own paths: the loader falls back to its default
// directories when ld.so.cache's path is missing). A static binary needs
// none. Keys are paths in the sandbox, values the host files.
func loaderFiles() (map[string]string, error) {
	files := map[string]string{}
	exe, err := elf.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("own executable: %w", err)
	}
	defer exe.Close()
	for _, p := range exe.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("own executable: interpreter: %w", err)
		}
		interp := strings.TrimRight(string(b), "\x00")
		real, err := filepath.EvalSymlinks(interp)
		if err != nil {
			return nil, fmt.Errorf("interpreter: %w", err)
		}
		files[interp] = real
	}
	if len(files) == 0 {
		return files, nil // static
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer maps.Close()
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 6 && strings.HasPrefix(f[5], "/") && strings.Contains(filepath.Base(f[5]), ".so") {
			files[f[5]] = f[5]
		}
	}
	return files, sc.Err()
}

// bindFiles binds each host file read-only (executable) at its path under
// root.
func bindFiles(root string, files map[string]string) error {
	for at, host := range files {
		to := root + at
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
		if err := unix.Mount(host, to, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", host, err)
		}
		if err := remountReadOnly(to, true); err != nil {
			return err
		}
	}
	return nil
}
