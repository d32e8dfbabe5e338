package main

import (
	"context"
	"flag"
	"fmt"

	"emoney"
	"emoney/identity"
)

// cmdStaffDisable disables a staff account: it cannot sign in any more and all its sessions are
// revoked at once (audited, actor "cli"). Running servers refuse its tokens within the 2 s they
// trust a checked session.
func cmdStaffDisable(ctx context.Context, e env, args []string) error {
	return onStaff(ctx, e, "staff disable", args, func(ids *identity.Service, u emoney.User) error {
		n, err := ids.DisableStaff(ctx, u.ID, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "staff account %s (%s) disabled; %d sessions revoked\n", u.ID, u.Role, n)
		return nil
	})
}

// cmdStaffReissue prints a new one-time enrolment code for a staff member who never enrolled
// (their code expired or was lost); the old code stops working. Audited.
func cmdStaffReissue(ctx context.Context, e env, args []string) error {
	return onStaff(ctx, e, "staff reissue", args, func(ids *identity.Service, u emoney.User) error {
		code, err := ids.ReissueEnrolment(ctx, u.ID, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "staff account %s (%s): a new one-time enrolment code, good for %s, replaces the old one (POST /api/v1/staff/enrol):\n", u.ID, u.Role, identity.EnrolmentTTL)
		fmt.Fprintln(e.stdout, code)
		return nil
	})
}

// onStaff runs a staff command (--db, --keyset, --email): it finds the staff member and runs fn
// on them.
func onStaff(ctx context.Context, e env, name string, args []string, fn func(*identity.Service, emoney.User) error) error {
	var email *string
	return identityCommand(ctx, e, name, args, func(fs *flag.FlagSet) {
		email = fs.String("email", "", "the staff member's e-mail address")
	}, func(ids *identity.Service) error {
		u, err := ids.StaffByEmail(ctx, *email)
		if err != nil {
			return err
		}
		return fn(ids, u)
	})
}
