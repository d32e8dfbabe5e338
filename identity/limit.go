package identity

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"emoney"
)

// limiter rate-limits guessable actions per key (an account, an address). It keeps at most max
// keys; when full it drops a tenth of them, chosen at random, so that an attacker who floods it
// with fresh keys frees some buckets but cannot reset everyone's.
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
			drop := l.max / 10
			for k := range l.m { // map order is random
				if drop == 0 {
					break
				}
				delete(l.m, k)
				drop--
			}
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

// network is the key an address is limited under: the address for IPv4, its /64 for IPv6 (one
// customer's line gets a whole /64, so anything finer would be free to rotate).
func network(ip netip.Addr) string {
	if ip.Is4() || !ip.IsValid() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// Limiter limits a guessable or costly action per key for other packages (phone codes, eKYC
// attempts), the way this package limits sign-ins.
type Limiter struct{ l *limiter }

// NewLimiter allows burst attempts per key, then one every every; it keeps at most max keys.
func NewLimiter(every time.Duration, burst, max int) *Limiter {
	return &Limiter{newLimiter(every, burst, max)}
}

// Allow takes one attempt for key at now, or answers rate_limited saying when to come back.
func (l *Limiter) Allow(key, what string, now time.Time) error {
	if ok, wait := l.l.allow(key, now); !ok {
		return &RateLimited{emoney.Errorf(emoney.ERateLimited, "too many %s: try again later", what), wait}
	}
	return nil
}
