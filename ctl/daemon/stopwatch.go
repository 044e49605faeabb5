package daemon

import "time"

// stopwatch times the phases of a command for its log line, so an
// operator sees where a slow endpoint/add or endpoint/del spent its time
// (making the veth, attaching the socket, storing the configuration).
type stopwatch struct {
	start, last time.Time
	attrs       []any
}

func newStopwatch() *stopwatch {
	now := time.Now()
	return &stopwatch{start: now, last: now}
}

// lap ends the phase called name.
func (s *stopwatch) lap(name string) {
	now := time.Now()
	s.attrs = append(s.attrs, name, now.Sub(s.last).Round(time.Microsecond))
	s.last = now
}

// log returns the phases and the total, as slog attributes after args.
func (s *stopwatch) log(args ...any) []any {
	return append(append(args, s.attrs...), "took", time.Since(s.start).Round(time.Microsecond))
}
