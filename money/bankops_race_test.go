package money_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"emoney"
	"emoney/alerts"
	"emoney/bank"
	"emoney/identity"
	"emoney/internal/testkit"
	"emoney/ledger"
	"emoney/money"
)

// Races between the reconciler, staff and the bank (found by review).

// hookConnector runs onStatus before each Status call: it plays staff acting at that instant.
type hookConnector struct {
	bank.Connector
	onStatus func(ref string)
}

func (h hookConnector) Status(ctx context.Context, ref string) (bank.Result, error) {
	if h.onStatus != nil {
		h.onStatus(ref)
	}
	return h.Connector.Status(ctx, ref)
}

type bankWorld struct {
	s      emoney.Store
	l      *ledger.Ledger
	al     *alerts.Service
	svc    *money.Service
	ops    *money.BankOps
	sim    *bank.Sim
	hook   *hookConnector
	p      identity.Principal
	wallet emoney.ID
}

func newBankWorld(t *testing.T) *bankWorld {
	ctx := context.Background()
	k := testkit.New(t, nil, nil)
	s, l, ids := k.Store, k.Ledger, k.Identity
	w := &bankWorld{s: s, l: l, sim: bank.NewSim()}
	w.hook = &hookConnector{Connector: w.sim.Connector("0001")}
	reg, _ := bank.NewRegistry(bank.Bank{Code: "0001", Connector: w.hook})
	w.al = alerts.New(s, l, nil)
	w.svc = money.New(l, ids, money.Config{})
	w.ops = money.NewBankOps(w.svc, money.BankConfig{Banks: reg, Store: s, Alerts: w.al})
	u, wa, err := ids.SignUp(ctx, "alice@example.com", "correct horse battery", netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	w.p, w.wallet = identity.Principal{User: u.ID, Role: emoney.RoleCustomer, KYCTier: 2}, wa.ID
	if _, err := w.ops.TopUp(ctx, w.p, "fund", "0001", 50_000); err != nil {
		t.Fatal(err)
	}
	return w
}

// A withdrawal whose bank answer is lost, then alerted to staff after 24 h.
func (w *bankWorld) unresolvedWithdrawal(t *testing.T, amount int64) money.BankOp {
	ctx := context.Background()
	w.sim.Set("0001", bank.SimBank{Behaviour: bank.TimeOut})
	op, err := w.ops.Withdraw(ctx, w.p, "w1", "0001", amount)
	if err != nil || op.Status != money.BankPending {
		t.Fatalf("withdraw: %+v %v", op, err)
	}
	if st, _ := w.ops.Reconcile(ctx, time.Now().Add(25*time.Hour)); st.Alerted != 1 {
		t.Fatalf("reconcile: %+v, want an alert", st)
	}
	return op
}

// Staff reject an unresolved withdrawal (the bank said it never got it) while a reconciler pass
// that listed the hold is between PendingHolds and Status: the reconciler re-sends the credit to
// the bank after the hold was voided. The customer is paid at the bank AND refunded in the wallet.
func TestReconcilerNeverResendsWhatStaffMayDecide(t *testing.T) {
	ctx := context.Background()
	w := newBankWorld(t)
	op := w.unresolvedWithdrawal(t, 20_000)
	w.sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})
	w.hook.onStatus = func(ref string) {
		w.hook.onStatus = nil
		if _, _, err := w.al.Resolve(ctx, op.ID, false, "staff:alice"); err != nil {
			t.Errorf("staff reject: %v", err)
		}
	}
	w.ops.Reconcile(ctx, time.Now().Add(26*time.Hour))
	b, _ := w.l.Balance(ctx, w.wallet, emoney.JPY)
	credited := w.sim.Calls("0001").Credited
	if b.Balance != 50_000 || credited != 0 {
		t.Fatalf("wallet %d after the void (want 50000), bank credited %d (want 0): a re-send after staff decided moves money twice", b.Balance, credited)
	}
}

// Staff reject an unresolved withdrawal: nothing left the wallet, yet the amount stays counted
// against the daily/monthly send limits (alerts.settle voids without Limit{Count:true}).
func TestStaffRejectGivesBackLimits(t *testing.T) {
	ctx := context.Background()
	w := newBankWorld(t)
	op := w.unresolvedWithdrawal(t, 20_000)
	if _, _, err := w.al.Resolve(ctx, op.ID, false, "staff:alice"); err != nil {
		t.Fatal(err)
	}
	u, err := w.svc.Limits(ctx, w.p)
	if err != nil {
		t.Fatal(err)
	}
	if u.SentToday != 0 {
		t.Errorf("after the withdrawal was voided: sent_today = %d, want 0", u.SentToday)
	}
}

// The bank confirms a top-up above the approval threshold that staff were alerted about: the
// reconciler counts it resolved, but the hold stays pending (it became a proposal by system:bank).
func TestBankAnswerSettlesAboveTheApprovalThreshold(t *testing.T) {
	ctx := context.Background()
	w := newBankWorld(t)
	w.sim.Set("0001", bank.SimBank{Behaviour: bank.FailAfter}) // the money moved, the answer was lost
	op, err := w.ops.TopUp(ctx, w.p, "big", "0001", 200_000)
	if err != nil || op.Status != money.BankPending {
		t.Fatalf("top-up: %+v %v", op, err)
	}
	w.sim.Set("0001", bank.SimBank{Behaviour: bank.TimeOut}) // then the bank is unreachable for a day
	w.ops.Reconcile(ctx, time.Now().Add(25*time.Hour))
	w.sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})
	st, err := w.ops.Reconcile(ctx, time.Now().Add(26*time.Hour))
	got, _ := w.ops.Get(ctx, w.p, money.KindTopUp, op.ID)
	if st.Resolved != 1 || got.Status != money.BankSucceeded {
		t.Errorf("reconcile said %+v (%v) and the top-up is %s: the bank's answer must settle it, not become a staff proposal", st, err, got.Status)
	}
}
