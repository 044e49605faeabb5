package perf

import "time"

// pacer spreads a generator's frames over time at a set rate, in runs of
// about paceRun worth of frames: between runs the generator sleeps, so a
// paced generator wakes some 2,000 times a second rather than spinning on
// short sleeps (which the CPU figures would count as busy, on both CPUs:
// the Go scheduler's threads spin around every wake-up).
//
// A sender that fell behind (not scheduled for a while: a loaded machine)
// catches up at most paceBacklog runs' worth; the rest is forgiven, not
// sent in a burst: a burst would overflow the receiver's rings (a loss
// that is the generator's, not the switch's) and overstate the rate, and
// the rate is a bound: over any interval the sender sends at most rate
// times it, plus the backlog.
type pacer struct {
	rate  float64 // frames/s; 0: no pacing
	run   uint64  // frames a run waits for
	base  uint64  // frames sent before start
	skip  uint64  // frames forgiven: due, but never to be sent
	start time.Time
	sleep func(time.Duration)
	now   func() time.Time // the clock (tests set it)
}

// paceRun is the time a paced run's frames cover, and paceBacklog the
// most runs a late sender sends at once to catch up.
const (
	paceRun     = 500 * time.Microsecond
	paceBacklog = 4
)

// newPacer paces rate frames/s (0: no pacing) for a sender whose runs hold
// at most most frames and that has sent base frames already.
func newPacer(rate, most int, base uint64) *pacer {
	p := &pacer{rate: float64(rate), base: base, start: time.Now(), sleep: time.Sleep, now: time.Now}
	p.run = uint64(max(1, min(most, int(float64(rate)*paceRun.Seconds()))))
	return p
}

// next returns how many frames may go now, at most most, given that sent
// have gone in all. If fewer than a run's worth are due it sleeps until
// they are and returns 0 (call again: the caller may be stopped meanwhile).
func (p *pacer) next(sent uint64, most int) int {
	if p.rate == 0 {
		return most
	}
	el := p.now().Sub(p.start)
	due := p.base + uint64(el.Seconds()*p.rate) - p.skip
	if most := paceBacklog * p.run; due > sent+most {
		p.skip += due - sent - most // late: forgive what a burst would make up
		due = sent + most
	}
	if due < sent+p.run {
		at := time.Duration(float64(sent+p.run+p.skip-p.base) / p.rate * float64(time.Second))
		p.sleep(max(at-el, time.Microsecond))
		return 0
	}
	return int(min(due-sent, uint64(most)))
}
