package http_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"emoney/alerts"
	emhttp "emoney/http"
	"emoney/identity"
	"emoney/ledger"
	"emoney/money"
	"emoney/payees"
	"emoney/pii"
	"emoney/sqlite"
)

// stack is the whole service over a SQLite file in a temp dir, served on a real port.
type stack struct {
	ledger   *ledger.Ledger
	identity *identity.Service
	alerts   *alerts.Service
	url      string
}

// newStack builds it with now as the clock of identity and alerts (nil: time.Now) and cheap
// password hashing; everything is closed when the test ends.
func newStack(t *testing.T, now func() time.Time) *stack {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(filepath.Join(dir, "emoney.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _, err := pii.LoadOrCreate(filepath.Join(dir, "keys", "keyset.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, ledger.Config{})
	t.Cleanup(func() { l.Close() })
	ids, err := identity.New(s, keys, l, identity.Config{Now: now, Argon2: identity.Argon2{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	al := alerts.New(s, l, now)
	srv := emhttp.New(emhttp.Config{}, emhttp.Deps{Store: s, Ledger: l, Identity: ids, Money: money.New(l, ids, money.Config{}), Alerts: al,
		Payees: payees.New(s, keys, l, ids, now)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &stack{ledger: l, identity: ids, alerts: al, url: ts.URL}
}
