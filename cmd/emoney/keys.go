package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"emoney/banklink"
	"emoney/kyc"
	"emoney/payees"
	"emoney/pii"
)

// keysetFlag adds --keyset with its environment fallback.
func (e env) keysetFlag(fs *flag.FlagSet) *string {
	return fs.String("keyset", e.getenv("EMONEY_KEYSET"), "keyset file for personal data (env EMONEY_KEYSET; default: keys/keyset.json beside a SQLite database, generated on first start)")
}

// keysetPath is --keyset, or on SQLite without it, keys/keyset.json beside the database.
func keysetPath(keyset, db string) (string, error) {
	if keyset != "" {
		return keyset, nil
	}
	path, ok := strings.CutPrefix(db, "sqlite:")
	if !ok {
		return "", errors.New("--keyset is required with PostgreSQL: the keys must not live with the data")
	}
	return filepath.Join(filepath.Dir(path), "keys", "keyset.json"), nil
}

// loadKeys loads the keyset for personal data (see keysetPath), generating it the first time
// with a warning.
func loadKeys(keyset, db string, log *slog.Logger) (*pii.Keys, error) {
	keyset, err := keysetPath(keyset, db)
	if err != nil {
		return nil, err
	}
	keys, created, err := pii.LoadOrCreate(keyset)
	if err == nil && created {
		log.Warn("generated a new keyset for personal data: keep it safe and outside the database; without it the data cannot be read", slog.String("path", keyset))
	}
	return keys, err
}

// cmdKeysRotate adds a new sealing key, saves the keyset, then seals all personal data again
// under it. The keyset is saved first: whatever happens after, every sealed value opens with it.
// Servers must load the new keyset (restart them): the old one cannot open resealed data.
func cmdKeysRotate(ctx context.Context, e env, args []string) error {
	fs := e.flags("keys rotate")
	db := e.dbFlag(fs)
	keyset := e.keysetFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	path, err := keysetPath(*keyset, *db)
	if err != nil {
		return err
	}
	keys, err := pii.Load(path)
	if err != nil {
		return err
	}
	if err := keys.Rotate(); err != nil {
		return err
	}
	if err := keys.Save(path); err != nil {
		return err
	}
	ids, closeAll, err := openIdentity(ctx, e, *db, path)
	if err != nil {
		return err
	}
	defer closeAll()
	n, err := ids.Reseal(ctx)
	if err != nil {
		return fmt.Errorf("resealed %d users, then: %w (run keys rotate again to finish; nothing is unreadable)", n, err)
	}
	s, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	nk, err := kyc.Reseal(ctx, s, keys)
	if err != nil {
		return fmt.Errorf("resealed %d users and %d verification records, then: %w (run keys rotate again to finish; nothing is unreadable)", n, nk, err)
	}
	np, err := payees.Reseal(ctx, s, keys)
	if err != nil {
		return fmt.Errorf("resealed %d users, %d verification records and %d payees, then: %w (run keys rotate again to finish; nothing is unreadable)", n, nk, np, err)
	}
	nl, nf, err := banklink.Reseal(ctx, s, keys)
	if err != nil {
		return fmt.Errorf("resealed %d users, %d verification records, %d payees, %d bank links and %d linking flows, then: %w (run keys rotate again to finish; nothing is unreadable)", n, nk, np, nl, nf, err)
	}
	fmt.Fprintf(e.stdout, "keyset %s now seals with a new key (%d keys can open); %d users, %d verification records, %d payees, %d bank links and %d linking flows resealed; start the servers on it\n",
		path, keys.SealingKeys(), n, nk, np, nl, nf)
	return nil
}

// cmdKeysCreate makes a new keyset file for personal data: the way a production keyset comes
// to be (production never generates one on its own). It refuses to overwrite a file.
func cmdKeysCreate(_ context.Context, e env, args []string) error {
	fs := e.flags("keys create")
	keyset := fs.String("keyset", e.getenv("EMONEY_KEYSET"), "where to write the keyset (env EMONEY_KEYSET); keep it outside the database and back it up")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keyset == "" {
		return errors.New("--keyset is required: where to write the new keyset")
	}
	if _, err := os.Stat(*keyset); err == nil {
		return fmt.Errorf("%s exists: a keyset is never overwritten (the data sealed with it would be lost); rotate it with emoney keys rotate", *keyset)
	}
	keys, err := pii.Generate()
	if err != nil {
		return err
	}
	if err := keys.Save(*keyset); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "keyset written to %s (mode 0600): back it up; without it the personal data cannot be read\n", *keyset)
	return nil
}
