package sriovtest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Sysfs is a fake sysfs tree laid out as the kernel lays out a PF and its
// VFs:
//
//	ROOT/class/net/PF/device -> ../../../devices/pci0000:00/PFADDR
//	ROOT/devices/pci0000:00/PFADDR/{sriov_totalvfs,sriov_numvfs}
//	ROOT/devices/pci0000:00/PFADDR/virtfnN -> ../VFADDR
//	ROOT/devices/pci0000:00/VFADDR/physfn -> ../PFADDR
//	ROOT/devices/pci0000:00/VFADDR/net/NETDEV/   (only if bound)
type Sysfs struct {
	Root string
	t    testing.TB
	pfs  map[string]string // PF name -> PCI address
}

const bus = "devices/pci0000:00"

// NewSysfs makes an empty tree in a temp dir of t.
func NewSysfs(t testing.TB) *Sysfs {
	return &Sysfs{Root: t.TempDir(), t: t, pfs: map[string]string{}}
}

// AddPF adds an SR-IOV capable PF netdev name at PCI address pci that
// supports up to total VFs, with none enabled.
func (s *Sysfs) AddPF(name, pci string, total int) {
	s.t.Helper()
	dev := filepath.Join(s.Root, bus, pci)
	s.mkdir(dev)
	s.write(filepath.Join(dev, "sriov_totalvfs"), total)
	s.write(filepath.Join(dev, "sriov_numvfs"), 0)
	s.mkdir(filepath.Join(s.Root, "class", "net", name))
	s.symlink(filepath.Join("..", "..", "..", bus, pci), filepath.Join(s.Root, "class", "net", name, "device"))
	s.pfs[name] = pci
}

// AddVF adds VF index of pf at PCI address pci, bound to a kernel driver
// with the netdev named netdev, or unbound if netdev is "". It bumps the
// PF's sriov_numvfs.
func (s *Sysfs) AddVF(pf string, index int, pci, netdev string) {
	s.t.Helper()
	pfPCI, ok := s.pfs[pf]
	if !ok {
		s.t.Fatalf("sriovtest: AddVF: no PF %s", pf)
	}
	pfDev := filepath.Join(s.Root, bus, pfPCI)
	vfDev := filepath.Join(s.Root, bus, pci)
	s.mkdir(vfDev)
	s.symlink(filepath.Join("..", pfPCI), filepath.Join(vfDev, "physfn"))
	s.symlink(filepath.Join("..", pci), filepath.Join(pfDev, "virtfn"+strconv.Itoa(index)))
	if netdev != "" {
		s.mkdir(filepath.Join(vfDev, "net", netdev))
	}
	b, err := os.ReadFile(filepath.Join(pfDev, "sriov_numvfs"))
	if err != nil {
		s.t.Fatal(err)
	}
	n, _ := strconv.Atoi(string(b[:len(b)-1]))
	s.write(filepath.Join(pfDev, "sriov_numvfs"), n+1)
}

// BindVF renames the netdev of VF pci, or unbinds it if netdev is "".
func (s *Sysfs) BindVF(pci, netdev string) {
	s.t.Helper()
	net := filepath.Join(s.Root, bus, pci, "net")
	if err := os.RemoveAll(net); err != nil {
		s.t.Fatal(err)
	}
	if netdev != "" {
		s.mkdir(filepath.Join(net, netdev))
	}
}

func (s *Sysfs) mkdir(dir string) {
	s.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Sysfs) write(path string, n int) {
	s.t.Helper()
	if err := os.WriteFile(path, []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Sysfs) symlink(target, link string) {
	s.t.Helper()
	if err := os.Symlink(target, link); err != nil {
		s.t.Fatal(err)
	}
}
