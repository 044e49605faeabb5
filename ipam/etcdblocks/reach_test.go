package etcdblocks

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/vecswitch/vecswitch/internal/etcdtest"
)

// Once an exchange has failed for lack of etcd, the next ones are not
// tried while the client is not connected: they fail at once with
// ErrUnreachable instead of each waiting out its context. With etcd back
// they go through again.
func TestFailFastWhileUnreachable(t *testing.T) {
	e := etcdtest.Start(t)
	px := etcdtest.StartProxy(t, e.URL)
	c, err := New(Config{Endpoints: []string{px.URL()}, Prefix: "/test/ipam", Host: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := pool(t, "ff", map[string]string{"subnet": "10.66.0.0/24"})
	if err := c.Register(context.Background(), p); err != nil {
		t.Fatal(err)
	}

	px.Cut()
	short, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Owned(short, p); err == nil || errors.Is(err, ErrUnreachable) {
		t.Fatalf("Owned with etcd cut off: %v, want the exchange tried and failed", err)
	}
	// A long context: were the exchange tried, it would wait it out.
	long, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Claim(long, p, 0); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Claim after a failed exchange: %v, want ErrUnreachable", err)
	}
	if err := c.Release(long, "ff", netip.MustParsePrefix("10.66.0.0/26")); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Release after a failed exchange: %v, want ErrUnreachable", err)
	}

	px.Heal()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.Claim(ctx, p, 0)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Claim a minute after etcd came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
