package proto

// Default Limiter settings, close to Linux's icmp_ratelimit and
// icmp_msgs_burst.
const (
	DefaultRate  = 1000 // messages per second
	DefaultBurst = 100  // messages sent at once after a quiet period
	maxBurst     = 1 << 20
)

// Limiter is a token bucket for ICMP error generation. Its credit is kept
// in nanoseconds: each message costs 1e9/rate of them, and the bucket holds
// at most burst messages' worth. The zero value allows DefaultRate with
// DefaultBurst. A Limiter is not safe for concurrent use: each worker has
// its own, so the node-wide rate is the sum of the workers' rates.
type Limiter struct {
	cost   int64 // nanoseconds of credit a message costs; 0: defaults
	max    int64 // credit cap, burst*cost
	credit int64
	last   int64 // time of the last refill
}

// NewLimiter returns a Limiter allowing perSecond messages a second in
// bursts of up to burst. A value <= 0 takes the default; rates above 1e9
// a second are clamped to 1e9, bursts above about a million to that.
func NewLimiter(perSecond, burst int) Limiter {
	if perSecond <= 0 {
		perSecond = DefaultRate
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	cost := max(int64(1e9)/int64(perSecond), 1)
	return Limiter{cost: cost, max: cost * int64(min(burst, maxBurst))}
}

// Allow reports whether a message may be sent at time now (nanoseconds of
// a monotonic clock, such as a worker's per-vector timestamp) and, if so,
// takes its cost. A clock that goes backwards refills nothing.
func (l *Limiter) Allow(now int64) bool {
	cost, limit := l.cost, l.max
	if cost == 0 {
		cost, limit = 1e9/DefaultRate, 1e9/DefaultRate*DefaultBurst
	}
	if d := now - l.last; d > 0 {
		l.last = now
		l.credit = min(l.credit+min(d, limit), limit)
	}
	if l.credit < cost {
		return false
	}
	l.credit -= cost
	return true
}
