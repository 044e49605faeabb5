package main

import (
	"log/slog"

	"github.com/vecswitch/vecswitch/ctl/daemon"
	"github.com/vecswitch/vecswitch/dockernet"
)

// serveDocker serves the Docker network and IPAM driver on o.Docker; the
// driver runs the daemon's commands in-process.
func serveDocker(o options, d *daemon.Daemon, log *slog.Logger) (stop func() error, err error) {
	drv, err := dockernet.New(dockernet.Config{Caller: dockernet.RegistryCaller{R: d.Registry()}, StateDir: o.StateDir,
		Global: o.Etcd != "", Logger: log.With("part", "docker")})
	if err != nil {
		return nil, err
	}
	srv, err := dockernet.Serve(o.Docker, drv.Handler())
	if err != nil {
		return nil, err
	}
	log.Info("serving Docker's network and IPAM driver API", "socket", srv.Path())
	return srv.Close, nil
}
