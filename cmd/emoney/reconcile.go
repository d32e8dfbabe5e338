package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"emoney"
	"emoney/banklink"
	"emoney/banksim"
)

// cmdReconcile compares the ledger's top-ups and withdrawals through bank links with each
// bank's settlement statement and reports every difference (banklink.Reconcile): exit 0 when
// there is none (the report as the last line of stdout with --json), 1 naming each one.
// Banks are those of [[banks]] in --config; without any, in development, the bank simulator's
// at --banksim-url, spoken to with the wallet key `emoney serve` keeps beside the keyset.
func cmdReconcile(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(configPath(e, args))
	if err != nil {
		return err
	}
	fs := e.flags("reconcile")
	fs.String("config", "", "configuration file, TOML (env EMONEY_CONFIG): its [[banks]] are reconciled")
	db := fs.String("db", first(e.getenv("EMONEY_DB"), cfg.DB, defaultDB), "database: sqlite:PATH or postgres://… (env EMONEY_DB)")
	keyset := fs.String("keyset", first(e.getenv("EMONEY_KEYSET"), cfg.Keyset), "development: the keyset whose folder holds the wallet's key at the simulated banks (env EMONEY_KEYSET; default beside a SQLite database)")
	banksimURL := fs.String("banksim-url", first(e.getenv("EMONEY_BANKSIM_URL"), "http://127.0.0.1:8081"), "development without [[banks]]: the bank simulator's base URL (env EMONEY_BANKSIM_URL)")
	only := fs.String("bank", "", "reconcile only this bank (4-digit code)")
	fromFlag := fs.String("from", "", "start of the period: YYYY-MM-DD (Asia/Tokyo) or RFC 3339 (default: 7 days before --to)")
	toFlag := fs.String("to", "", "end of the period: YYYY-MM-DD (the whole day, Asia/Tokyo) or RFC 3339 (default: now)")
	asJSON := fs.Bool("json", false, "end stdout with the report as one JSON line")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *only != "" && !zenginCode.MatchString(*only) {
		return errors.New("--bank: a 4-digit bank code")
	}
	to := time.Now()
	if *toFlag != "" {
		if to, err = periodTime(*toFlag, true); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	from := to.Add(-7 * 24 * time.Hour)
	if *fromFlag != "" {
		if from, err = periodTime(*fromFlag, false); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	}
	w, rc, err := reconcileBanks(e, cfg, *keyset, *db, *banksimURL)
	if err != nil {
		return err
	}
	rc.Bank, rc.From, rc.To = *only, from, to
	s, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := banklink.Reconcile(ctx, s, w, rc)
	if err != nil {
		return err
	}
	out := e.stdout
	if *asJSON {
		out = e.stderr
	}
	fmt.Fprintf(out, "reconcile %s … %s: banks %s; %d bank entries, %d ledger operations, %d matched\n",
		r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), strings.Join(r.Banks, " "), r.BankEntries, r.LedgerOps, r.Matched)
	for _, d := range r.Differences {
		op := ""
		if d.Operation != "" {
			op = " operation " + d.Operation
		}
		fmt.Fprintf(e.stdout, "DIFFERENCE %s bank %s%s (%s) ledger %d bank %d: %s\n", d.Kind, d.Bank, op, d.OpKind, d.LedgerAmount, d.BankAmount, d.Note)
	}
	if !r.OK() {
		return fmt.Errorf("reconcile: %d differences", len(r.Differences))
	}
	fmt.Fprintln(out, "reconcile: OK")
	if *asJSON {
		return e.printJSON(r)
	}
	return nil
}

// reconcileBanks is the protocol client and the banks reconcile speaks to: [[banks]], or in
// development without them the simulator's banks with the key serve keeps.
func reconcileBanks(e env, cfg config, keyset, db, banksimURL string) (*banklink.Wallet, banklink.ReconcileConfig, error) {
	if len(cfg.Banks) > 0 {
		cb, err := cfg.banks(e)
		if err != nil {
			return nil, banklink.ReconcileConfig{}, err
		}
		w, err := banklink.New(cb.wallet)
		return w, banklink.ReconcileConfig{Issuers: cb.issuers}, err
	}
	if cfg.production() {
		return nil, banklink.ReconcileConfig{}, errors.New("production mode: no [[banks]] in --config: there is no bank to reconcile with")
	}
	path, err := devWalletKeyPath(keyset, db)
	if err != nil {
		return nil, banklink.ReconcileConfig{}, err
	}
	key, err := readWalletKey(path)
	if err != nil {
		return nil, banklink.ReconcileConfig{}, fmt.Errorf("the development wallet key (made by emoney serve on this data): %w", err)
	}
	base := strings.TrimSuffix(banksimURL, "/")
	rc := banklink.ReconcileConfig{Issuers: map[string]string{}, LedgerBanksOnly: true}
	ids := map[string]string{}
	for _, b := range banksim.DefaultBanks {
		iss := base + "/banks/" + b.Code
		rc.Issuers[b.Code], ids[iss] = iss, devClientID
	}
	w, err := banklink.New(banklink.Config{ClientIDs: ids, Key: key, KeyID: devKeyID, RedirectURI: base + "/unused"})
	return w, rc, err
}

// periodTime reads a --from or --to: RFC 3339, or a Tokyo calendar day (its start; with end,
// the start of the next day, so that the day is included).
func periodTime(v string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation("2006-01-02", v, emoney.Tokyo)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor an RFC 3339 time", v)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}
