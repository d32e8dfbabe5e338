package identity

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	a := Argon2{Time: 1, MemoryKiB: 64, Threads: 1}
	h, err := a.hashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q", h)
	}
	h2, _ := a.hashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if !checkPassword(h, "correct horse battery") || checkPassword(h, "correct horse batterY") {
		t.Error("checkPassword")
	}
	// A hash made under another cost still checks (the cost lives in the hash).
	if !checkPassword(h, "correct horse battery") {
		t.Error("cost from the hash")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaA", "plain"} {
		if checkPassword(bad, "x") {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestNormalEmail(t *testing.T) {
	for in, want := range map[string]string{" Alice@Example.COM ": "alice@example.com", "a.b+c@d.co.jp": "a.b+c@d.co.jp"} {
		if got, err := normalEmail(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "alice", "@example.com", "alice@", "alice@example", "al ice@example.com", "alice@example.com.", "a\x00@b.c"} {
		if _, err := normalEmail(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(time.Minute, 3, 10)
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("k", now); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	ok, wait := l.allow("k", now)
	if ok || wait <= 0 || wait > time.Minute {
		t.Errorf("4th attempt: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.allow("other", now); !ok {
		t.Error("keys are not separate")
	}
	if ok, _ := l.allow("k", now.Add(time.Minute)); !ok {
		t.Error("no attempt back after a minute")
	}
}

func TestSessionCacheRevocationWins(t *testing.T) {
	var c sessionCache
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	h := []byte("token-hash")
	p := Principal{Role: "customer"}
	c.put(h, p, now, now.Add(sessionTTL))
	if _, ok := c.get(h, now); !ok {
		t.Fatal("a checked session is not cached")
	}
	if _, ok := c.get(h, now.Add(sessionTTL)); ok {
		t.Error("cached past its time")
	}
	c.revoke(h, now)
	if _, ok := c.get(h, now); ok {
		t.Error("a revoked session is still cached")
	}
	// A check that read the session before the revocation committed tries to cache it after.
	c.put(h, p, now.Add(time.Second), now.Add(time.Second+sessionTTL))
	if _, ok := c.get(h, now.Add(time.Second)); ok {
		t.Error("a check that began before the revocation put the session back")
	}
}
