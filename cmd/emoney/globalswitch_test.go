package main

import (
	"context"
	"testing"

	"emoney"
	"emoney/bankpolicy"
)

// `emoney bank killswitch --bank all` pulls the global switch: the operation stops with every
// bank, whatever each bank's own switch says, and its release leaves a bank's own switch as it
// was.
func TestGlobalKillSwitchCLI(t *testing.T) {
	_, db := migratedDB(t)
	ctx := context.Background()
	run := func(args ...string) error {
		_, _, err := cli(t, nil, append([]string{"bank", "killswitch", "--db", db}, args...)...)
		return err
	}
	if err := run("--bank", "all", "--switch", "topups", "--pull", "--reason", "settlement network down"); err != nil {
		t.Fatal(err)
	}
	if err := run("--bank", "0002", "--switch", "topups", "--pull", "--reason", "bank 2 phishing"); err != nil {
		t.Fatal(err)
	}
	s, err := openMigrated(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(code string) error {
		return bankpolicy.New(s, bankpolicy.Config{}).Check(ctx, code, emoney.SwitchTopUps) // a new instance: no cache
	}
	for _, code := range []string{"0001", "0002", "9900"} {
		if err := check(code); emoney.ErrorCode(err) != emoney.ESuspended {
			t.Errorf("top-ups at %s under the global switch: %v", code, err)
		}
	}
	if err := run("--bank", "all", "--switch", "topups", "--release", "--reason", "network back"); err != nil {
		t.Fatal(err)
	}
	if err := check("0001"); err != nil {
		t.Errorf("0001 after the global release: %v", err)
	}
	if err := check("0002"); emoney.ErrorCode(err) != emoney.ESuspended {
		t.Errorf("0002's own switch after the global release: %v", err)
	}
	if err := run("--bank", "al", "--switch", "topups", "--pull", "--reason", "typo"); emoney.ErrorCode(err) != emoney.ENotFound {
		t.Errorf("a typo in the bank: %v", err)
	}
}
