package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"emoney/sqlite"
)

// cmdBackup copies a SQLite database, consistently, while servers keep running on it.
func cmdBackup(ctx context.Context, e env, args []string) error {
	fs := e.flags("backup")
	db := e.dbFlag(fs)
	out := fs.String("out", "", "the backup file to write; it must not exist")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out FILE is required")
	}
	if strings.HasPrefix(*db, "postgres://") || strings.HasPrefix(*db, "postgresql://") {
		return errors.New("emoney backup copies SQLite databases; back up PostgreSQL with its own tools, e.g. pg_dump --format=custom --file=FILE \"$EMONEY_DB\" (see docs/backup.md)")
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("--out %s exists: a backup never overwrites a file", *out)
	}
	s, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	ss, ok := s.(*sqlite.Store)
	if !ok {
		return fmt.Errorf("--db %q is not a SQLite database", *db)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if err := ss.Backup(ctx, *out); err != nil {
		return err
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "the keyset that opens personal data is not in the backup: keep a copy of it apart (see docs/backup.md)\n")
	fmt.Fprintf(e.stdout, "backup of %s (schema version %d) written to %s, %d bytes\n", *db, v, *out, info.Size())
	return nil
}
