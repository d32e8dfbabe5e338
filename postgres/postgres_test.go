package postgres_test

import (
	"context"
	"testing"
	"time"

	"emoney"
	"emoney/postgres"
	"emoney/postgres/pgtest"
	"emoney/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, newDatabase)
}

// newDatabase creates an empty database for one test (dropped when it ends) and returns an
// Opener of migrated stores on it.
func newDatabase(t *testing.T) storetest.Opener {
	t.Helper()
	dsn := pgtest.Database(t)
	return func(t *testing.T) emoney.Store {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := postgres.Open(ctx, dsn, postgres.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
}
