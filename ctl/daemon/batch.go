package daemon

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
)

// A batch (ctl.Request.Batch; vsctl -- CMD ... -- CMD ..., vsctl --batch
// FILE) is one transaction, as ovs-vsctl's commands joined by "--" are:
// the commands run in order on a working copy of the configuration
// (State.txn: commit only checks and keeps each command's result, clone
// is shallow), each seeing the changes of those before it; then the
// switch gets the final configuration once, and the store one journal
// record with all of it. If a command fails, or the final configuration
// is refused, the working copy is dropped: nothing is applied or stored.
// Only commands whose Spec has Batch are taken (the registry checks):
// they change the State and nothing else (no device, driver, speaker or
// lease outside it), so dropping the copy undoes them whole.

// runBatch carries out cmds as one transaction. Caller holds mu.
func (d *Daemon) runBatch(handlers map[string]func([]string) (any, error), cmds []ctl.BatchCommand) (_ []any, err error) {
	orig := d.state
	work := orig.clone()
	work.txn = true
	d.state = work
	defer func() {
		if d.state.txn { // failed, or a handler panicked
			d.state = orig
		}
	}()
	results := make([]any, len(cmds))
	for i, c := range cmds {
		res, err := handlers[c.Cmd](c.Args)
		if err != nil {
			return nil, batchError(cmds, i, err)
		}
		results[i] = res
	}
	final := d.state
	final.txn = false
	d.state = orig
	if err := d.commit(final); err != nil {
		return nil, d.batchRefused(handlers, cmds, err)
	}
	return results, nil
}

// batchError is command i's error, naming it, with its code.
func batchError(cmds []ctl.BatchCommand, i int, err error) *ctl.Error {
	code, msg := ctl.CodeInternal, err.Error()
	var ce *ctl.Error
	if errors.As(err, &ce) {
		code, msg = ce.Code, ce.Message
	}
	e := ctl.Errorf(code, "command %d of %d (%s): %s; nothing in the batch was applied", i+1, len(cmds), commandLine(cmds[i]), msg)
	e.Index = i + 1
	return e
}

func commandLine(c ctl.BatchCommand) string {
	return strings.TrimSpace(c.Cmd + " " + strings.Join(c.Args, " "))
}

// batchRefused names the command that made the batch's configuration one
// the switch refuses (err, from the final commit). Each command ran
// without the switch's checks: the first prefix of the batch whose
// configuration fails them is searched by bisection (each step runs the
// prefix again on a working copy: log2(n) runs), and its last command
// named. If every prefix passes the checks (the switch refused the final
// configuration for another reason, or it could not be stored), the
// batch fails as a whole with err.
func (d *Daemon) batchRefused(handlers map[string]func([]string) (any, error), cmds []ctl.BatchCommand, err error) error {
	fails := func(n int) error {
		orig := d.state
		defer func() { d.state = orig }()
		work := orig.clone()
		work.txn = true
		d.state = work
		for i := 0; i < n; i++ {
			if _, err := handlers[cmds[i].Cmd](cmds[i].Args); err != nil {
				return err
			}
		}
		return checkState(&d.state)
	}
	lo, hi := 0, len(cmds) // prefix lo passes, prefix hi fails
	hiErr := fails(hi)
	if hiErr == nil {
		e := ctl.Errorf(ctl.CodeInternal, "%v", err)
		var ce *ctl.Error
		if errors.As(err, &ce) {
			e = ctl.Errorf(ce.Code, "%s", ce.Message)
		}
		e.Message = fmt.Sprintf("the batch of %d commands: %s; nothing in the batch was applied", len(cmds), e.Message)
		return e
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if merr := fails(mid); merr != nil {
			hi, hiErr = mid, merr
		} else {
			lo = mid
		}
	}
	return batchError(cmds, hi-1, hiErr)
}

// checkState is what commit checks of a configuration before the switch
// takes it, and the switch's own validation (not its compilation).
func checkState(st *State) error {
	if err := checkPortState(st); err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "the configuration would not load: %v", err)
	}
	if err := checkEndpointRefs(st); err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "the configuration would not load: %v", err)
	}
	cfg := st.switchConfig()
	if err := cfg.Validate(); err != nil {
		return asInvalid(err)
	}
	return nil
}
