package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/ledger"
)

// cmdPartnerRevoke stops a partner's API key working.
func cmdPartnerRevoke(ctx context.Context, e env, args []string) error {
	var name *string
	return identityCommand(ctx, e, "partner revoke", args, func(fs *flag.FlagSet) {
		name = fs.String("name", "", "the partner's name")
	}, func(ids *identity.Service) error {
		p, err := ids.RevokePartner(ctx, *name, "cli:"+os.Getenv("USER"))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "partner %q (%s) revoked at %s: its API key no longer works\n", p.Name, p.ID, p.RevokedAt.Format(time.RFC3339))
		return nil
	})
}

// identityCommand parses a command's flags (--db and --keyset, and the command's own, which
// flags adds) and runs fn with the identity service over the already migrated database.
func identityCommand(ctx context.Context, e env, name string, args []string, flags func(*flag.FlagSet), fn func(*identity.Service) error) error {
	fs := e.flags(name)
	db := e.dbFlag(fs)
	keyset := e.keysetFlag(fs)
	flags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	ids, closeAll, err := openIdentity(ctx, e, *db, *keyset)
	if err != nil {
		return err
	}
	defer closeAll()
	return fn(ids)
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

// cmdStaffCreate makes a staff account and prints its one-time enrolment code (specs/cli.md).
func cmdStaffCreate(ctx context.Context, e env, args []string) error {
	var email, role *string
	return identityCommand(ctx, e, "staff create", args, func(fs *flag.FlagSet) {
		email = fs.String("email", "", "the staff member's e-mail address")
		role = fs.String("role", "", "support, analyst, senior_analyst or admin")
	}, func(ids *identity.Service) error {
		u, code, err := ids.CreateStaff(ctx, *email, emoney.Role(*role))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "staff account %s (%s) created; its one-time enrolment code, good for %s, is (POST /api/v1/staff/enrol):\n", u.ID, u.Role, identity.EnrolmentTTL)
		fmt.Fprintln(e.stdout, code)
		return nil
	})
}

// cmdPartnerCreate registers a cash-in agent or merchant and prints its API key once.
func cmdPartnerCreate(ctx context.Context, e env, args []string) error {
	var name, role *string
	return identityCommand(ctx, e, "partner create", args, func(fs *flag.FlagSet) {
		name = fs.String("name", "", "the partner's name, unique (e.g. a convenience-store chain)")
		role = fs.String("role", "agent", "agent (cash-in network) or merchant")
	}, func(ids *identity.Service) error {
		p, key, err := ids.CreatePartner(ctx, *name, emoney.Role(*role))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "partner %q (%s) created as %s; its API key is shown this once:\n", p.Name, p.Role, p.ID)
		fmt.Fprintln(e.stdout, key)
		return nil
	})
}
