package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"emoney"
	"emoney/bankpolicy"
)

// cmdBankKillSwitch pulls or releases one of a bank's kill switches straight in the database,
// for operators in an emergency when the API is not at hand: audited as actor "cli". Running
// servers enforce it within bankpolicy.MaxAge (1 s). The last line of stdout is the switch's
// new state as JSON.
func cmdBankKillSwitch(ctx context.Context, e env, args []string) error {
	fs := e.flags("bank killswitch")
	db := e.dbFlag(fs)
	code := fs.String("bank", "", "the bank's four-digit code, or all: the global switch, for every bank at once")
	which := fs.String("switch", "", "which switch: topups, withdrawals or new_links")
	pull := fs.Bool("pull", false, "pull the switch: stop those operations with the bank")
	release := fs.Bool("release", false, "release the switch: let those operations go again")
	reason := fs.String("reason", "", "why (required; kept in the audit log)")
	until := fs.String("until", "", "pull only: when you expect to release it (RFC 3339); refused requests are told to retry then")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *pull == *release {
		return errors.New("bank killswitch: give exactly one of --pull and --release")
	}
	sw, err := emoney.ParseKillSwitch(*which)
	if err != nil {
		return fmt.Errorf("bank killswitch: --switch must be topups, withdrawals or new_links")
	}
	var untilT time.Time
	if *until != "" {
		if !*pull {
			return errors.New("bank killswitch: --until is for --pull")
		}
		if untilT, err = time.Parse(time.RFC3339, *until); err != nil {
			return fmt.Errorf("bank killswitch: --until: %w", err)
		}
	}
	s, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	svc := bankpolicy.New(s, bankpolicy.Config{})
	var p emoney.BankPolicy
	if *pull {
		p, err = svc.PullKillSwitch(ctx, *code, sw, *reason, untilT, "cli")
	} else {
		p, err = svc.Release(ctx, *code, sw, *reason, "cli")
	}
	if err != nil {
		return err
	}
	state := "released"
	if *pull {
		state = "pulled"
	}
	fmt.Fprintf(e.stderr, "bank %s: %s switch %s (policy version %d); running servers enforce it within %s\n", p.Bank, sw, state, p.Version, bankpolicy.MaxAge)
	return e.printJSON(map[string]any{"bank": p.Bank, "switch": sw, "pulled": p.Switch(sw).Pulled, "version": p.Version})
}
