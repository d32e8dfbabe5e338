package bank_test

import (
	"context"
	"errors"
	"testing"

	"emoney/bank"
)

func TestSim(t *testing.T) {
	ctx := context.Background()
	sim := bank.NewSim()
	c := sim.Connector("0001")
	req := bank.Request{Reference: "ref-1", Amount: 500, Currency: "JPY"}

	// A request sent twice moves the money once and answers the same.
	for i := 0; i < 2; i++ {
		if res, err := c.Debit(ctx, req); err != nil || res.Outcome != bank.Succeeded {
			t.Fatalf("debit %d: %+v %v", i, res, err)
		}
	}
	if got := sim.Calls("0001"); got.Debit != 2 || got.Debited != 500 {
		t.Errorf("after a debit sent twice: %+v", got)
	}
	if _, err := c.Credit(ctx, req); err == nil {
		t.Error("a credit under a debit's reference was accepted")
	}

	// Decline: nothing moves; a later Status and a retry give the same answer, even once the
	// bank would succeed.
	sim.Set("0001", bank.SimBank{Behaviour: bank.Decline, Reason: "account_closed"})
	req2 := bank.Request{Reference: "ref-2", Amount: 300, Currency: "JPY"}
	if res, err := c.Credit(ctx, req2); err != nil || res.Outcome != bank.Declined || res.Reason != "account_closed" {
		t.Fatalf("declined credit: %+v %v", res, err)
	}
	sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})
	if res, err := c.Credit(ctx, req2); err != nil || res.Outcome != bank.Declined {
		t.Errorf("retried declined credit: %+v %v", res, err)
	}
	if got := sim.Calls("0001"); got.Credited != 0 {
		t.Errorf("a declined credit moved money: %+v", got)
	}

	// Time-out: the request never arrives; Status times out too, then knows nothing of it.
	sim.Set("0001", bank.SimBank{Behaviour: bank.TimeOut})
	req3 := bank.Request{Reference: "ref-3", Amount: 100, Currency: "JPY"}
	if _, err := c.Debit(ctx, req3); !errors.Is(err, bank.ErrTimeout) {
		t.Errorf("debit during a time-out: %v", err)
	}
	if _, err := c.Status(ctx, "ref-3"); !errors.Is(err, bank.ErrTimeout) {
		t.Errorf("status during a time-out: %v", err)
	}
	sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})
	if _, err := c.Status(ctx, "ref-3"); !errors.Is(err, bank.ErrUnknownReference) {
		t.Errorf("status of a request that never arrived: %v", err)
	}

	// Fail after doing it: the money moves, the answer is lost, Status tells the truth.
	sim.Set("0001", bank.SimBank{Behaviour: bank.FailAfter})
	req4 := bank.Request{Reference: "ref-4", Amount: 70, Currency: "JPY"}
	if _, err := c.Debit(ctx, req4); !errors.Is(err, bank.ErrConnectionLost) {
		t.Errorf("debit that fails after: %v", err)
	}
	if res, err := c.Status(ctx, "ref-4"); err != nil || res.Outcome != bank.Succeeded {
		t.Errorf("status after a lost answer: %+v %v", res, err)
	}
	if got := sim.Calls("0001"); got.Debited != 570 {
		t.Errorf("debited %d, want 570", got.Debited)
	}
	// Banks are apart: another code saw nothing.
	if got := sim.Calls("9900"); got != (bank.SimCalls{}) {
		t.Errorf("bank 9900: %+v", got)
	}
}

func TestRegistry(t *testing.T) {
	sim := bank.NewSim()
	r, err := bank.NewRegistry(bank.Bank{Code: "9900", Name: "B", Connector: sim.Connector("9900")}, bank.Bank{Code: "0001", Name: "A", Connector: sim.Connector("0001")})
	if err != nil {
		t.Fatal(err)
	}
	if l := r.List(); len(l) != 2 || l[0].Code != "0001" {
		t.Errorf("List = %+v", l)
	}
	if _, ok := r.Get("0002"); ok {
		t.Error("an unconfigured bank was found")
	}
	for name, banks := range map[string][]bank.Bank{
		"bad code":     {{Code: "12a4", Connector: sim.Connector("x")}},
		"no connector": {{Code: "1234"}},
		"twice":        {{Code: "1234", Connector: sim.Connector("1234")}, {Code: "1234", Connector: sim.Connector("1234")}},
	} {
		if _, err := bank.NewRegistry(banks...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if code, ok := bank.CodeOf(bank.AccountName("0005")); !ok || code != "0005" {
		t.Errorf("CodeOf(AccountName) = %q %v", code, ok)
	}
	if _, ok := bank.CodeOf("wallet:0005"); ok {
		t.Error("a wallet's name read as a bank's")
	}
	for in, want := range map[string]string{"account_closed": "account_closed", "": "other", "Bad Reason": "other", "a_very_long_reason_code_x": "other"} {
		if got := bank.CleanReason(in); got != want {
			t.Errorf("CleanReason(%q) = %q, want %q", in, got, want)
		}
	}
}
