package daemon

import (
	"context"
	"fmt"

	"github.com/vecswitch/vecswitch/ctl"
)

// DaemonVersion is reported by the version command.
const DaemonVersion = "0.1.0"

// Registry returns the daemon's commands, one handler per Spec.
func (d *Daemon) Registry() *ctl.Registry {
	handlers := map[string]func([]string) (any, error){
		"add-br": d.addBridge, "del-br": d.delBridge, "list-br": d.listBridges,
		"add-port": d.addPort, "del-port": d.delPort, "list-ports": d.listPorts, "set-port": d.setPort,
		"set-bridge": d.setBridge,
		"show":       d.show, "fdb/show": d.fdbShow, "fdb/flush": d.fdbFlush, "fdb/add": d.fdbAdd, "fdb/del": d.fdbDel,
		"port/stats": d.portStats, "show-runtime": d.showRuntime, "show-workers": d.showWorkers,
		"show-errors": d.showErrors, "version": d.version,
		"sriov/show": func(args []string) (any, error) { return d.sriovShow(args[0]) },
		"sriov/move": d.sriovMove, "sriov/restore": d.sriovRestore,
	}
	for k, v := range d.l3Handlers() {
		handlers[k] = v
	}
	for k, v := range d.observeHandlers() {
		handlers[k] = v
	}
	for k, v := range d.vxlanHandlers() {
		handlers[k] = v
	}
	for k, v := range d.endpointHandlers() {
		handlers[k] = v
	}
	for k, v := range d.ipamHandlers() {
		handlers[k] = v
	}
	for k, v := range d.sgHandlers() {
		handlers[k] = v
	}
	for k, v := range d.natHandlers() {
		handlers[k] = v
	}
	for k, v := range d.svcHandlers() {
		handlers[k] = v
	}
	for k, v := range d.dnsHandlers() {
		handlers[k] = v
	}
	for k, v := range d.bgpHandlers() {
		handlers[k] = v
	}
	r := ctl.NewRegistry()
	r.SetLogger(d.log) // a recovered panic goes to the daemon's log
	for _, s := range ctl.Specs {
		h, ok := handlers[s.Name]
		if !ok {
			panic("ctl: no handler for " + s.Name)
		}
		r.Register(ctl.Command{Name: s.Name, Usage: s.Usage, Help: s.Help, MinArgs: s.MinArgs, MaxArgs: s.MaxArgs, Batch: s.Batch,
			Run: func(_ context.Context, args []string) (any, error) {
				d.mu.Lock()
				defer d.mu.Unlock()
				return h(args)
			}})
	}
	r.SetBatch(func(_ context.Context, cmds []ctl.BatchCommand) ([]any, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.runBatch(handlers, cmds)
	})
	return r
}

func (d *Daemon) version([]string) (any, error) {
	return map[string]string{"daemon": DaemonVersion, "protocol": fmt.Sprint(ctl.Version)}, nil
}
