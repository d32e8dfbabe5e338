package identity

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter rate-limits guessable actions per key (e-mail, IP). It keeps at most max keys; past
// that it starts over, which can only ever let an attacker try a little more, never lock out.
type limiter struct {
	mu    sync.Mutex
	every time.Duration
	burst int
	max   int
	m     map[string]*rate.Limiter
}

func newLimiter(every time.Duration, burst, max int) *limiter {
	return &limiter{every: every, burst: burst, max: max, m: map[string]*rate.Limiter{}}
}

// allow takes one attempt for key at now, or says how long until the next is allowed.
func (l *limiter) allow(key string, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, found := l.m[key]
	if !found {
		if len(l.m) >= l.max {
			clear(l.m)
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.m[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
