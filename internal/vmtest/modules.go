package vmtest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoModule: a module a test asked for is neither built into the
// kernel nor among its modules.
var ErrNoModule = errors.New("vmtest: no such kernel module")

// moduleName is the name the kernel knows a module file by: its base name
// without .ko and a compression suffix, dashes as underscores.
func moduleName(path string) string {
	b := filepath.Base(path)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		b = strings.TrimSuffix(b, ext)
	}
	return strings.ReplaceAll(strings.TrimSuffix(b, ".ko"), "-", "_")
}

// Modules returns the module files (paths relative to dir, as
// modules.dep names them) that loading the named modules needs, each
// after the ones it depends on, so that insmod in that order works. dir
// is /lib/modules/<release>. A module built into the kernel
// (modules.builtin) needs no file and is left out; one that is neither
// built in nor in modules.dep is an error wrapping ErrNoModule.
// Compressed modules (.ko.xz, .ko.zst) are returned as they are: the
// guest's insmod, or the kernel itself (finit_module with
// MODULE_INIT_COMPRESSED_FILE), must take them.
func Modules(dir string, names ...string) ([]string, error) {
	builtin := map[string]bool{}
	if err := eachLine(filepath.Join(dir, "modules.builtin"), func(line string) {
		builtin[moduleName(line)] = true
	}); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	files := map[string]string{}  // name -> path
	deps := map[string][]string{} // name -> its dependencies' names
	if err := eachLine(filepath.Join(dir, "modules.dep"), func(line string) {
		file, rest, ok := strings.Cut(line, ":")
		if !ok {
			return
		}
		n := moduleName(file)
		files[n] = file
		for _, d := range strings.Fields(rest) {
			deps[n] = append(deps[n], moduleName(d))
		}
	}); err != nil {
		return nil, fmt.Errorf("vmtest: kernel modules: %w", err)
	}
	var order []string
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("vmtest: module %s: dependency loop", n)
		case 2:
			return nil
		}
		if builtin[n] {
			state[n] = 2
			return nil
		}
		f, ok := files[n]
		if !ok {
			return fmt.Errorf("%w: %s (not in %s/modules.dep or modules.builtin)", ErrNoModule, n, dir)
		}
		state[n] = 1
		for _, d := range deps[n] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, f)
		return nil
	}
	for _, n := range names {
		if err := visit(moduleName(n)); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func eachLine(path string, fn func(string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && line[0] != '#' {
			fn(line)
		}
	}
	return sc.Err()
}
