package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"emoney"
	"emoney/sqlite"
	"emoney/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, newDatabase)
}

func newDatabase(t *testing.T) storetest.Opener {
	path := filepath.Join(t.TempDir(), "emoney.db")
	return func(t *testing.T) emoney.Store {
		s, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}
