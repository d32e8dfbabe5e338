package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database to path with VACUUM INTO: a snapshot as of
// the moment it starts, taken on a reader connection while this and other processes keep
// committing (WAL readers do not block writers). It refuses a path that exists, and it syncs
// the copy to disk before returning. The copy is a complete database file: opened on its own,
// it needs no WAL. Personal data in it stays sealed: the keyset is backed up apart.
func (s *Store) Backup(ctx context.Context, path string) error {
	// An absolute path cannot be read as a "file:" URI, so it names exactly this file.
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists; a backup never overwrites a file", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := s.reader.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs) // this call made it (it did not exist): leave no half-written copy
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	if err := syncPath(abs); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return syncPath(filepath.Dir(abs)) // the new directory entry too
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
