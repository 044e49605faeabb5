package sriov

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sysVF is what sysfs tells about one VF.
type sysVF struct {
	index  int
	pci    string // PCI address, e.g. 0000:03:02.1
	netdev string // "" when no kernel netdev is bound
}

// pfDevice is the PF's PCI device directory in sysfs.
func (h *Host) pfDevice(pf string) string {
	return filepath.Join(h.sysfs(), "class", "net", pf, "device")
}

// readSysfs returns the PF's VFs as sysfs lists them; capable is false when
// the PF shows no sriov_totalvfs (not SR-IOV, or sysfs not mounted there).
func (h *Host) readSysfs(pf string) (vfs []sysVF, capable bool, err error) {
	dev := h.pfDevice(pf)
	if _, err := os.Stat(filepath.Join(dev, "sriov_totalvfs")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, err
	}
	links, err := filepath.Glob(filepath.Join(dev, "virtfn*"))
	if err != nil {
		return nil, true, err
	}
	for _, l := range links {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(l), "virtfn"))
		if err != nil || n < 0 {
			continue
		}
		target, err := os.Readlink(l)
		if err != nil {
			return nil, true, err
		}
		v := sysVF{index: n, pci: filepath.Base(target)}
		v.netdev, err = firstEntry(filepath.Join(l, "net"))
		if err != nil {
			return nil, true, err
		}
		vfs = append(vfs, v)
	}
	sort.Slice(vfs, func(i, j int) bool { return vfs[i].index < vfs[j].index })
	return vfs, true, nil
}

// NumVFs reads the PF's sriov_numvfs (the VFs enabled) and sriov_totalvfs
// (the most it supports).
func (h *Host) NumVFs(pf string) (num, total int, err error) {
	dev := h.pfDevice(pf)
	if num, err = readInt(filepath.Join(dev, "sriov_numvfs")); err == nil {
		total, err = readInt(filepath.Join(dev, "sriov_totalvfs"))
	}
	if err != nil {
		kind := error(nil)
		if errors.Is(err, fs.ErrNotExist) {
			kind = ErrNotSRIOV
		}
		return 0, 0, &Error{PF: pf, VF: -1, Op: "read sysfs", Kind: kind, Err: err}
	}
	return num, total, nil
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// firstEntry is the first name in dir, "" if dir is empty or missing (a VF
// without a bound netdev has no net/ directory).
func firstEntry(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil || len(ents) == 0 {
		return "", err
	}
	return ents[0].Name(), nil
}
