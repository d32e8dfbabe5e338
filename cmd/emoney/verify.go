package main

import (
	"context"
	"fmt"
	"sort"

	"emoney"

	"emoney/audit"
	"emoney/ledger"
)

func cmdMigrate(ctx context.Context, e env, args []string) error {
	fs := e.flags("migrate")
	db := e.dbFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openAndMigrate(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s schema at version %d\n", s.Kind(), v)
	return nil
}

func cmdLedgerVerify(ctx context.Context, e env, args []string) error {
	fs := e.flags("ledger verify")
	db := e.dbFlag(fs)
	asJSON := fs.Bool("json", false, "end stdout with the report as one JSON line")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := ledger.Verify(ctx, s)
	if err != nil {
		return err
	}
	out := e.stdout
	if *asJSON {
		out = e.stderr
	}
	fmt.Fprintf(out, "ledger: %d accounts, %d balances, %d transfers\n", r.Accounts, r.Balances, r.Transfers)
	curs := make([]string, 0, len(r.Totals))
	for cur := range r.Totals {
		curs = append(curs, string(cur))
	}
	sort.Strings(curs)
	for _, cur := range curs {
		t := r.Totals[emoney.Currency(cur)]
		fmt.Fprintf(out, "  %s: balances sum to %d; pending debits %d, pending credits %d\n", cur, t.Balance, t.DebitsPending, t.CreditsPending)
	}
	for _, p := range r.Problems {
		if p.Account.IsZero() {
			fmt.Fprintf(out, "PROBLEM %s: %s\n", p.Currency, p.What)
		} else {
			fmt.Fprintf(out, "PROBLEM account %s (%s) %s: %s\n", p.Account, p.Name, p.Currency, p.What)
		}
	}
	if r.OK() {
		fmt.Fprintln(out, "ledger verify: OK")
		if *asJSON {
			return e.printJSON(r)
		}
		return nil
	}
	return fmt.Errorf("ledger verify: %d problems", len(r.Problems))
}

func cmdAuditVerify(ctx context.Context, e env, args []string) error {
	fs := e.flags("audit verify")
	db := e.dbFlag(fs)
	asJSON := fs.Bool("json", false, "end stdout with the report as one JSON line")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := audit.Verify(ctx, s)
	if err != nil {
		return err
	}
	out := e.stdout
	if *asJSON {
		out = e.stderr
	}
	if r.HeadSeq == 0 && r.Entries == 0 {
		fmt.Fprintln(out, "audit log: empty")
	} else {
		fmt.Fprintf(out, "audit log: %d entries, head %d %s\n", r.Entries, r.HeadSeq, r.HeadHash)
	}
	for _, p := range r.Problems {
		fmt.Fprintln(out, "PROBLEM", p)
	}
	if r.OK() {
		fmt.Fprintln(out, "audit verify: OK")
		if *asJSON {
			return e.printJSON(r)
		}
		return nil
	}
	return fmt.Errorf("audit verify: %d problems", len(r.Problems))
}
