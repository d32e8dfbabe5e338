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
	"time"

	"emoney"
	"emoney/identity"
	"emoney/kyc"
	"emoney/ledger"
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

// cmdPartnerRevoke stops a partner's API key working.
func cmdPartnerRevoke(ctx context.Context, e env, args []string) error {
	fs := e.flags("partner revoke")
	db := e.dbFlag(fs)
	keyset := e.keysetFlag(fs)
	name := fs.String("name", "", "the partner's name")
	if err := parse(fs, args); err != nil {
		return err
	}
	ids, closeAll, err := openIdentity(ctx, e, *db, *keyset)
	if err != nil {
		return err
	}
	defer closeAll()
	p, err := ids.RevokePartner(ctx, *name, "cli:"+os.Getenv("USER"))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "partner %q (%s) revoked at %s: its API key no longer works\n", p.Name, p.ID, p.RevokedAt.Format(time.RFC3339))
	return nil
}

// openIdentity opens what the partner commands need, on an already migrated database.
func openIdentity(ctx context.Context, e env, db, keyset string) (*identity.Service, func(), error) {
	s, err := openMigrated(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	keys, err := loadKeys(keyset, db, slog.New(slog.NewTextHandler(e.stderr, nil)))
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	l := ledger.New(s, ledgerConfig(s, 0))
	ids, err := identity.New(s, keys, l, identity.Config{})
	if err != nil {
		l.Close()
		s.Close()
		return nil, nil, err
	}
	return ids, func() { l.Close(); s.Close() }, nil
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
	fmt.Fprintf(e.stdout, "keyset %s now seals with a new key (%d keys can open); %d users, %d verification records and %d payees resealed; start the servers on it\n",
		path, keys.SealingKeys(), n, nk, np)
	return nil
}

// cmdStaffCreate makes a staff account and prints its one-time enrolment code (specs/cli.md).
func cmdStaffCreate(ctx context.Context, e env, args []string) error {
	fs := e.flags("staff create")
	db := e.dbFlag(fs)
	keyset := e.keysetFlag(fs)
	email := fs.String("email", "", "the staff member's e-mail address")
	role := fs.String("role", "", "support, analyst, senior_analyst or admin")
	if err := parse(fs, args); err != nil {
		return err
	}
	ids, closeAll, err := openIdentity(ctx, e, *db, *keyset)
	if err != nil {
		return err
	}
	defer closeAll()
	u, code, err := ids.CreateStaff(ctx, *email, emoney.Role(*role))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "staff account %s (%s) created; its one-time enrolment code, good for %s, is (POST /api/v1/staff/enrol):\n", u.ID, u.Role, identity.EnrolmentTTL)
	fmt.Fprintln(e.stdout, code)
	return nil
}

// cmdPartnerCreate registers a cash-in agent or merchant and prints its API key once.
func cmdPartnerCreate(ctx context.Context, e env, args []string) error {
	fs := e.flags("partner create")
	db := e.dbFlag(fs)
	keyset := e.keysetFlag(fs)
	name := fs.String("name", "", "the partner's name, unique (e.g. a convenience-store chain)")
	role := fs.String("role", "agent", "agent (cash-in network) or merchant")
	if err := parse(fs, args); err != nil {
		return err
	}
	ids, closeAll, err := openIdentity(ctx, e, *db, *keyset)
	if err != nil {
		return err
	}
	defer closeAll()
	p, key, err := ids.CreatePartner(ctx, *name, emoney.Role(*role))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "partner %q (%s) created as %s; its API key is shown this once:\n", p.Name, p.Role, p.ID)
	fmt.Fprintln(e.stdout, key)
	return nil
}
