package identity

import (
	"context"
	"sync"
	"time"

	"emoney"
)

// tierTTL is how long a user's KYC tier is trusted from memory when it is asked about someone
// other than the signed-in user (the receiver of a transfer, whose balance cap depends on it).
// Tiers only rise on their own, so a stale tier is a stricter one.
const tierTTL = 10 * time.Second

type tierCache struct {
	mu sync.Mutex
	m  map[emoney.ID]cachedTier
}

type cachedTier struct {
	tier  int
	until time.Time
}

// Tier returns a user's KYC tier (not_found if there is no such user).
func (s *Service) Tier(ctx context.Context, user emoney.ID) (int, error) {
	now := s.cfg.Now()
	s.tiers.mu.Lock()
	c, ok := s.tiers.m[user]
	s.tiers.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.tier, nil
	}
	u, err := s.User(ctx, user)
	if err != nil {
		return 0, err
	}
	s.tiers.mu.Lock()
	if s.tiers.m == nil || len(s.tiers.m) >= 100_000 {
		s.tiers.m = map[emoney.ID]cachedTier{}
	}
	s.tiers.m[user] = cachedTier{u.KYCTier, now.Add(tierTTL)}
	s.tiers.mu.Unlock()
	return u.KYCTier, nil
}

// TierChanged forgets what this instance remembers of p's tier and session, after p's tier was
// changed (by verifying a phone or an identity), so that its next request sees the new tier.
func (s *Service) TierChanged(p Principal) {
	s.tiers.mu.Lock()
	delete(s.tiers.m, p.User)
	s.tiers.mu.Unlock()
	s.sessions.forget(p.Session)
}
