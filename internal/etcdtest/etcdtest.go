// Package etcdtest starts a single-member embedded etcd for tests: on
// 127.0.0.1 with kernel-chosen ports and a temporary data directory,
// closed when the test ends. Tests of etcd clients (the overlay syncer,
// IPAM block claims, two daemons sharing one etcd) use a real etcd server
// this way, with no external process.
package etcdtest

import (
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Etcd is a running embedded etcd.
type Etcd struct {
	// URL is the client URL (http://127.0.0.1:PORT).
	URL string
	// Client is a client for the test's own reads and writes.
	Client *clientv3.Client
}

// Start starts an embedded etcd and a client of it; both are closed when
// the test ends.
func Start(t testing.TB) *Etcd {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = t.TempDir()
	any0 := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{any0}
	cfg.AdvertiseClientUrls = []url.URL{any0}
	cfg.ListenPeerUrls = []url.URL{any0}
	cfg.AdvertisePeerUrls = []url.URL{any0}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("etcdtest: start etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(15 * time.Second):
		t.Fatal("etcdtest: etcd did not become ready")
	}
	te := &Etcd{URL: "http://" + e.Clients[0].Addr().String()}
	te.Client, err = clientv3.New(clientv3.Config{
		Endpoints:   []string{te.URL},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcdtest: etcd client: %v", err)
	}
	t.Cleanup(func() { te.Client.Close() })
	return te
}
