// Package storetest is the conformance suite every emoney.Store runs: the store contract itself,
// and the ledger's rules and invariants on top of it, including several handles (standing in for
// several processes) writing one database at once. A store passes when Run passes.
package storetest

import (
	"context"
	"testing"
	"time"

	"emoney"
)

// Opener opens a new handle on one fresh, migrated database each call; every call returns a
// store on the same database. Run calls it once per test for the main handle and again where a
// test needs a second writer. The suite closes what it opens.
type Opener func(t *testing.T) emoney.Store

// NewDatabase makes a fresh, empty database for one test and returns an Opener for it.
type NewDatabase func(t *testing.T) Opener

// Run runs the whole suite.
func Run(t *testing.T, newDB NewDatabase) {
	t.Run("Store", func(t *testing.T) { runStore(t, newDB) })
	t.Run("Ledger", func(t *testing.T) { runLedger(t, newDB) })
	t.Run("Identity", func(t *testing.T) { runIdentity(t, newDB) })
	t.Run("Alerts", func(t *testing.T) { runAlerts(t, newDB) })
	t.Run("Limits", func(t *testing.T) { runLimits(t, newDB) })
	t.Run("KYC", func(t *testing.T) { runKYC(t, newDB) })
	t.Run("BankOps", func(t *testing.T) { runBankOps(t, newDB) })
	t.Run("Passkeys", func(t *testing.T) { runPasskeys(t, newDB) })
	t.Run("StaffOps", func(t *testing.T) { runStaffOps(t, newDB) })
	t.Run("BankPolicies", func(t *testing.T) { runBankPolicies(t, newDB) })
	t.Run("Links", func(t *testing.T) { runLinks(t, newDB) })
	t.Run("LinkOps", func(t *testing.T) { runLinkOps(t, newDB) })
	// One bank account across its links (issue 6).
	t.Run("LinkAccount", func(t *testing.T) { runLinkAccount(t, newDB) })

	t.Run("Webhooks", func(t *testing.T) { runWebhooks(t, newDB) })
	// The 2020 legacy links beside OAuth ones (issue 6 item 7; migration 0022).
	t.Run("LegacyLinks", func(t *testing.T) { runLegacyLinks(t, newDB) })
	// Holder notifications and notices to banks (issue 6).
	t.Run("Notify", func(t *testing.T) { runNotify(t, newDB) })
	// Webhooks from banks: grants, received events, fraud reports (migration 0019).
	t.Run("BankWebhooks", func(t *testing.T) { runBankWebhooks(t, newDB) })
	// Staff decisions on links and linking locks (issue 6; migration 0020).
	t.Run("LinkReview", func(t *testing.T) { runLinkReview(t, newDB) })
	// Reconciliation and key rotation of bank links (emoney reconcile, keys rotate).
	t.Run("LinkReseal", func(t *testing.T) { runLinkReseal(t, newDB) })
	// The risk engine's rules and decisions (issue 7; migration 0024).
	t.Run("Risk", func(t *testing.T) { runRisk(t, newDB) })
}

func open(t *testing.T, newDB NewDatabase) (emoney.Store, Opener) {
	t.Helper()
	o := newDB(t)
	s := o(t)
	return s, o
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := emoney.ErrorCode(err); got != code {
		t.Fatalf("error code %q (%v), want %q", got, err, code)
	}
}
