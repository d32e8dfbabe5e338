package http_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"emoney/alerts"
	emhttp "emoney/http"
	"emoney/identity"
	"emoney/internal/testkit"
	"emoney/ledger"
	"emoney/money"
	"emoney/payees"
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
	k := testkit.New(t, nil, now)
	s, keys, l, ids := k.Store, k.Keys, k.Ledger, k.Identity
	al := alerts.New(s, l, now)
	srv := emhttp.New(emhttp.Config{}, emhttp.Deps{Store: s, Ledger: l, Identity: ids, Money: money.New(l, ids, money.Config{}), Alerts: al,
		Payees: payees.New(s, keys, l, ids, now)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &stack{ledger: l, identity: ids, alerts: al, url: ts.URL}
}
