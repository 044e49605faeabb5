//go:build linux

package cnibench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vecswitch/vecswitch/internal/nettest/netnsdir"
)

// maxFirstErrors is how many error messages a phase keeps.
const maxFirstErrors = 3

// Measure runs the sequential and the parallel phase (see the package
// doc) for cfg's conflist. It returns an error if the conflist does not
// parse or a namespace cannot be made or removed; failed CNI calls are
// counted in the result, not returned.
func Measure(ctx context.Context, cfg Config) (res Result, err error) {
	cfg.defaults()
	list, err := libcni.NetworkConfFromBytes(cfg.Conflist)
	if err != nil {
		return res, fmt.Errorf("cnibench: conflist: %w", err)
	}
	res.Network = list.Name
	cache, err := os.MkdirTemp("", "cnibench-cache-")
	if err != nil {
		return res, fmt.Errorf("cnibench: %w", err)
	}
	defer os.RemoveAll(cache)
	brs := newBridges(list)
	defer func() { err = errors.Join(err, deleteNewBridges(brs)) }()
	r := &runner{
		cfg:  cfg,
		list: list,
		// A private cache directory instead of /var/lib/cni: the same
		// files written the same way, none left on the machine.
		cni: libcni.NewCNIConfigWithCacheDir(cfg.PluginDirs, cache, nil),
		tag: suffix(),
	}
	if res.Sequential, err = r.phase(ctx, "s", 1); err != nil {
		return res, err
	}
	res.Parallel, err = r.phase(ctx, "p", cfg.Parallel)
	return res, err
}

// runner holds what both phases share.
type runner struct {
	cfg  Config
	list *libcni.NetworkConfigList
	cni  *libcni.CNIConfig
	tag  string
}

// phase makes N namespaces, ADDs into each with workers at a time, then
// DELs each, and removes the namespaces.
func (r *runner) phase(ctx context.Context, name string, workers int) (ph Phase, err error) {
	ph.Workers = workers
	n := r.cfg.N
	if !r.cfg.NoWarmup {
		n++ // the last one is the warm-up's
	}
	nss := make([]string, 0, n)
	defer func() {
		for _, ns := range nss {
			if derr := netns.DeleteNamed(ns); derr != nil {
				err = errors.Join(err, fmt.Errorf("cnibench: delete netns %s: %w", ns, derr))
			}
		}
	}()
	for i := range n {
		ns := fmt.Sprintf("vcb-%s-%s%d", r.tag, name, i) // not perf's vsb-: their tests check for leftovers by prefix, concurrently
		h, err := netnsdir.NewNamed(ns)
		if err != nil {
			return ph, fmt.Errorf("cnibench: %w", err)
		}
		h.Close()
		nss = append(nss, ns)
	}
	rt := func(i int) *libcni.RuntimeConf {
		return &libcni.RuntimeConf{
			ContainerID: fmt.Sprintf("cnibench-%s-%s%d", r.tag, name, i),
			NetNS:       filepath.Join(netnsdir.Dir, nss[i]),
			IfName:      r.cfg.IfName,
		}
	}
	var mu sync.Mutex
	fail := func(op string, i int, err error) {
		mu.Lock()
		defer mu.Unlock()
		ph.Errors++
		if len(ph.FirstErrors) < maxFirstErrors {
			ph.FirstErrors = append(ph.FirstErrors, fmt.Sprintf("%s %d: %v", op, i, err))
		}
	}
	if !r.cfg.NoWarmup {
		w := rt(n - 1)
		if _, err := r.cni.AddNetworkList(ctx, r.list, w); err != nil {
			fail("warm-up ADD", n-1, err)
		}
		if err := r.cni.DelNetworkList(ctx, r.list, w); err != nil {
			fail("warm-up DEL", n-1, err)
		}
	}
	adds := make([]time.Duration, r.cfg.N)
	dels := make([]time.Duration, r.cfg.N)
	addOK := make([]bool, r.cfg.N)
	delOK := make([]bool, r.cfg.N)
	start := time.Now()
	parallel(r.cfg.N, workers, func(i int) {
		t0 := time.Now()
		_, err := r.cni.AddNetworkList(ctx, r.list, rt(i))
		adds[i], addOK[i] = time.Since(t0), err == nil
		if err != nil {
			fail("ADD", i, err)
		}
	})
	parallel(r.cfg.N, workers, func(i int) {
		t0 := time.Now()
		err := r.cni.DelNetworkList(ctx, r.list, rt(i))
		dels[i], delOK[i] = time.Since(t0), err == nil
		if err != nil {
			fail("DEL", i, err)
		}
	})
	ph.Wall = time.Since(start)
	ph.Add = summarize(okOnly(adds, addOK))
	ph.Del = summarize(okOnly(dels, delOK))
	return ph, ctx.Err()
}

// parallel calls fn(0..n-1), workers at a time, and returns when all
// have returned.
func parallel(n, workers int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func okOnly(ds []time.Duration, ok []bool) []time.Duration {
	var out []time.Duration
	for i, d := range ds {
		if ok[i] {
			out = append(out, d)
		}
	}
	return out
}

// newBridges returns the bridges the conflist's bridge-type plugins
// name that do not exist yet: Measure deletes them at the end.
func newBridges(list *libcni.NetworkConfigList) []string {
	var brs []string
	for _, p := range list.Plugins {
		if p.Network.Type != "bridge" {
			continue
		}
		var c struct {
			Bridge string `json:"bridge"`
		}
		if json.Unmarshal(p.Bytes, &c) != nil {
			continue
		}
		if c.Bridge == "" {
			c.Bridge = "cni0" // the plugin's default
		}
		if _, err := netlink.LinkByName(c.Bridge); err != nil {
			brs = append(brs, c.Bridge)
		}
	}
	return brs
}

func deleteNewBridges(brs []string) error {
	var errs []error
	for _, br := range brs {
		if l, err := netlink.LinkByName(br); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("cnibench: delete bridge %s: %w", br, err))
			}
		}
	}
	return errors.Join(errs...)
}

func suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}
