package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// ensureHostID makes and stores this host's ID at the first start (a
// state from before IDs existed gets one too).
func (d *Daemon) ensureHostID() error {
	if d.state.HostID != "" {
		return nil
	}
	next := d.state.clone()
	b := make([]byte, 8)
	rand.Read(b)
	next.HostID = hex.EncodeToString(b)
	if err := d.commit(next); err != nil {
		return fmt.Errorf("ctl: store this host's id: %w", err)
	}
	return nil
}

// vethAliasPrefix begins the alias of every veth a daemon makes.
const vethAliasPrefix = "vecswitch:"

// vethAlias is the alias this daemon gives the host end of every veth it
// makes. Two daemons on one host (tests, or a mistake) each see the
// other's endpoint veths, named alike: the alias tells them apart, and a
// stray sweep deletes only veths carrying its own.
func (d *Daemon) vethAlias() string { return vethAliasPrefix + d.state.HostID }
