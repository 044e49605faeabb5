package main

import (
	"log/slog"

	"github.com/vecswitch/vecswitch/ctl/daemon"
	"github.com/vecswitch/vecswitch/ipam/etcdblocks"
)

// ipamClaims makes the daemon's multi-host address management (--etcd):
// block claims in etcd under prefix, for the host id the daemon keeps in
// its state directory. The etcd code stays out of the daemon package.
func ipamClaims(endpoints []string, prefix string, log *slog.Logger) func(string) (daemon.BlockClaims, error) {
	return func(host string) (daemon.BlockClaims, error) {
		return etcdblocks.New(etcdblocks.Config{Endpoints: endpoints, Prefix: prefix, Host: host, Logger: log})
	}
}
