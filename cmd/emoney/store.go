package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"emoney"
	"emoney/ledger"
	"emoney/sqlite"
)

const defaultDB = "sqlite:./emoney-data/emoney.db"

// openStore opens the store a --db value names. An explicit value that cannot be opened is an
// error, never a fallback to another store.
func openStore(ctx context.Context, dsn string) (emoney.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("--db sqlite: needs a path, e.g. sqlite:./emoney-data/emoney.db")
		}
		if strings.ContainsAny(path, "?#%") {
			// SQLite would read them as URI syntax and open some other file.
			return nil, fmt.Errorf("--db %q: the path may not contain '?', '#' or '%%'", dsn)
		}
		return sqlite.Open(path)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	}
	return nil, fmt.Errorf("--db %q: want sqlite:PATH or postgres://…", dsn)
}

// openAndMigrate opens the store and brings its schema up to date (migrate, serve, bench).
func openAndMigrate(ctx context.Context, dsn string) (emoney.Store, error) {
	s, err := openStore(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openMigrated opens the store and refuses an empty database: commands that read data should not
// create a schema by accident (that is what migrate is for).
func openMigrated(ctx context.Context, dsn string) (emoney.Store, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok && path != "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: run emoney migrate --db %s", path, dsn)
		}
	}
	s, err := openStore(ctx, dsn)
	if err != nil {
		return nil, err
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	if v == 0 {
		s.Close()
		return nil, fmt.Errorf("database %s has no schema yet: run emoney migrate --db %s", dsn, dsn)
	}
	return s, nil
}

// ledgerConfig sets how many batches may commit at once: SQLite has one writer (and then trusts
// the balances it wrote last instead of reading them again); PostgreSQL locks rows, so batches
// that touch different accounts commit side by side.
func ledgerConfig(s emoney.Store, committers int) ledger.Config {
	if committers <= 0 {
		committers = 1
		if s.Kind() == "postgres" {
			committers = 2
		}
	}
	return ledger.Config{Committers: committers}
}
