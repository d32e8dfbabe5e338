// Package testkit builds, for tests, the services most packages stand on: a store (SQLite in a
// temp dir or a given one), personal-data keys, the ledger and the identity service with cheap
// password hashing. Tests outside a package's own internals use it instead of wiring the same
// five things by hand.
package testkit

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/ledger"
	"emoney/pii"
	"emoney/sqlite"
)

// Kit is the wired services, closed when the test ends.
type Kit struct {
	Store    emoney.Store
	Keys     *pii.Keys
	Ledger   *ledger.Ledger
	Identity *identity.Service
}

// CheapArgon2 is password hashing cheap enough for tests (never for production).
var CheapArgon2 = identity.Argon2{Time: 1, MemoryKiB: 64, Threads: 1}

// SQLite opens and migrates a fresh SQLite store in a temp dir, closed when the test ends.
func SQLite(t testing.TB) emoney.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "emoney.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// New wires keys, ledger and identity over s (nil: a fresh SQLite store), with now as the
// identity service's clock (nil: time.Now). s must be migrated.
func New(t testing.TB, s emoney.Store, now func() time.Time) *Kit {
	t.Helper()
	if s == nil {
		s = SQLite(t)
	}
	keys, err := pii.Generate()
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, ledger.Config{})
	t.Cleanup(func() { l.Close() })
	ids, err := identity.New(s, keys, l, identity.Config{Now: now, Argon2: CheapArgon2})
	if err != nil {
		t.Fatal(err)
	}
	return &Kit{Store: s, Keys: keys, Ledger: l, Identity: ids}
}
