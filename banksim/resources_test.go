package banksim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"emoney/banksim"
)

func TestResourceHolder(t *testing.T) {
	w := newCoreWorld(t)
	a := w.do("GET", "/banks/0001/api/holder", "g-holder", "", "")
	if a.Status != 200 || a.JSON["holder_kana"] != "ﾔﾏﾀﾞ ﾀﾛｳ" || a.JSON["birth_date"] != "1990-04-01" ||
		a.JSON["account_masked"] != "****567" || a.JSON["branch"] != "001" || a.JSON["account_number"] != "1234567" {
		t.Errorf("holder: %d %s", a.Status, a.Raw)
	}
	for _, tc := range []struct {
		name, path, token, wantErr string
		status                     int
	}{
		{"no token", "/banks/0001/api/holder", "", "invalid_token", 401},
		{"unknown token", "/banks/0001/api/holder", "g-nope", "invalid_token", 401},
		{"scope missing", "/banks/0001/api/statements", "g-holder", "insufficient_scope", 403},
		{"unknown bank", "/banks/9999/api/holder", "g-holder", "not_found", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := w.do("GET", tc.path, tc.token, "", "")
			if a.Status != tc.status || a.errCode() != tc.wantErr {
				t.Errorf("%d %s", a.Status, a.Raw)
			}
			if tc.status == 401 || tc.status == 403 {
				if h := a.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "DPoP ") || !strings.Contains(h, `error="`+tc.wantErr+`"`) {
					t.Errorf("WWW-Authenticate %q", h)
				}
			}
		})
	}
}

func TestResourceDebitMandate(t *testing.T) {
	w := newCoreWorld(t)
	debit := func(key, body string) coreAnswer { return w.do("POST", "/banks/0001/api/debits", "g-full", key, body) }

	for _, tc := range []struct {
		name, key, body     string
		status              int
		code, field, reason string
	}{
		{"no key", "", `{"amount":1000,"payee":"emoney"}`, 400, "invalid", "Idempotency-Key", ""},
		{"zero", "k0", `{"amount":0,"payee":"emoney"}`, 400, "invalid", "amount", ""},
		{"negative", "k1", `{"amount":-5,"payee":"emoney"}`, 400, "invalid", "amount", ""},
		{"string amount", "k2", `{"amount":"5","payee":"emoney"}`, 400, "invalid", "amount", ""},
		{"unknown field", "k3", `{"amount":5,"payee":"emoney","to":"x"}`, 400, "invalid", "to", ""},
		{"other payee", "k4", `{"amount":1000,"payee":"mule-shop"}`, 403, "forbidden", "payee", ""},
		{"over per-charge cap", "k5", `{"amount":30001,"payee":"emoney"}`, 422, "limit_exceeded", "amount", "mandate_per_charge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := debit(tc.key, tc.body)
			if a.Status != tc.status || a.errCode() != tc.code || a.errField("field") != tc.field || a.errField("reason") != tc.reason {
				t.Errorf("%d %s", a.Status, a.Raw)
			}
		})
	}
	if b := w.balance(); b != 100_000 {
		t.Fatalf("refused debits moved money: balance %d", b)
	}

	// ¥50,000 a month in Asia/Tokyo: 30,000 + 20,000 fit, one more yen does not.
	if a := debit("m1", `{"amount":30000,"payee":"emoney","description":"top-up"}`); a.Status != 201 || a.JSON["amount"] != 30000.0 || a.JSON["payee"] != "emoney" || a.JSON["id"] == "" {
		t.Fatalf("first debit: %d %s", a.Status, a.Raw)
	}
	if a := debit("m2", `{"amount":20000,"payee":"emoney"}`); a.Status != 201 {
		t.Fatalf("second debit: %d %s", a.Status, a.Raw)
	}
	if a := debit("m3", `{"amount":1,"payee":"emoney"}`); a.Status != 422 || a.errField("reason") != "mandate_monthly" {
		t.Fatalf("over the month: %d %s", a.Status, a.Raw)
	}
	// 2026-11-30 15:30 UTC is already 1 December in Tokyo: a new month.
	w.clock.Set(time.Date(2026, 11, 30, 15, 30, 0, 0, time.UTC))
	if a := debit("m3", `{"amount":1,"payee":"emoney"}`); a.Status != 201 {
		t.Fatalf("new Tokyo month: %d %s", a.Status, a.Raw)
	}
	if b := w.balance(); b != 100_000-50_001 {
		t.Fatalf("balance %d", b)
	}
	// The account holds 49,999: a debit within the mandate but over the balance is refused.
	w.clock.Set(time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC))
	if a := debit("m4", `{"amount":30000,"payee":"emoney"}`); a.Status != 201 {
		t.Fatalf("debit: %d %s", a.Status, a.Raw)
	}
	if a := debit("m5", `{"amount":20000,"payee":"emoney"}`); a.Status != 422 || a.errCode() != "insufficient_funds" {
		t.Fatalf("insufficient funds: %d %s", a.Status, a.Raw)
	}
	if b := w.balance(); b != 19_999 {
		t.Fatalf("balance %d", b)
	}
}

func TestResourceRevokedGrant(t *testing.T) {
	w := newCoreWorld(t)
	if _, err := w.sim.RevokeGrant(context.Background(), coreBank, "g-full"); err != nil {
		t.Fatal(err)
	}
	a := w.do("POST", "/banks/0001/api/debits", "g-full", "k", `{"amount":1000,"payee":"emoney"}`)
	if a.Status != 401 || a.errCode() != "invalid_token" || w.balance() != 100_000 {
		t.Fatalf("debit on a revoked grant: %d %s", a.Status, a.Raw)
	}
}

func TestResourceIdempotency(t *testing.T) {
	w := newCoreWorld(t)
	for _, tc := range []struct{ path, body, other string }{
		{"/banks/0001/api/debits", `{"amount":1000,"payee":"emoney","description":"top-up"}`, `{"amount":1001,"payee":"emoney","description":"top-up"}`},
		{"/banks/0001/api/credits", `{"amount":700,"description":"withdrawal"}`, `{"amount":700,"description":"other"}`},
	} {
		before := w.balance()
		first := w.do("POST", tc.path, "g-full", "same-key", tc.body)
		again := w.do("POST", tc.path, "g-full", "same-key", tc.body)
		if first.Status != 201 || again.Status != 201 || first.JSON["id"] != again.JSON["id"] || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("%s replay: %d %s / %d %s", tc.path, first.Status, first.Raw, again.Status, again.Raw)
		}
		if first.Raw != again.Raw {
			t.Errorf("%s: replay answered differently:\n%s\n%s", tc.path, first.Raw, again.Raw)
		}
		if c := w.do("POST", tc.path, "g-full", "same-key", tc.other); c.Status != 409 || c.errCode() != "conflict" {
			t.Errorf("%s: same key, other body: %d %s", tc.path, c.Status, c.Raw)
		}
		moved := w.balance() - before
		if amt := int64(first.JSON["amount"].(float64)); (strings.HasSuffix(tc.path, "debits") && moved != -amt) || (strings.HasSuffix(tc.path, "credits") && moved != amt) {
			t.Errorf("%s: balance moved %d for one request of %d", tc.path, moved, amt)
		}
	}
	// A credit names no payee.
	if a := w.do("POST", "/banks/0001/api/credits", "g-full", "c2", `{"amount":1,"payee":"x"}`); a.Status != 400 || a.errField("field") != "payee" {
		t.Errorf("credit with payee: %d %s", a.Status, a.Raw)
	}
}

func TestResourceStatements(t *testing.T) {
	w := newCoreWorld(t)
	w.do("POST", "/banks/0001/api/debits", "g-full", "d1", `{"amount":1000,"payee":"emoney"}`)
	w.do("POST", "/banks/0001/api/credits", "g-full", "c1", `{"amount":300}`)
	var st struct {
		Balance int64
		Entries []banksim.Entry
	}
	a := w.do("GET", "/banks/0001/api/statements?limit=2", "g-full", "", "")
	if a.Status != 200 {
		t.Fatalf("%d %s", a.Status, a.Raw)
	}
	decodeInto(t, a.Raw, &st)
	if st.Balance != 99_300 || len(st.Entries) != 2 || st.Entries[0].Amount != -1000 || st.Entries[1].Amount != 300 || st.Entries[1].Balance != 99_300 {
		t.Errorf("statement %+v", st)
	}
	if a := w.do("GET", "/banks/0001/api/statements?limit=0", "g-full", "", ""); a.Status != 400 || a.errField("field") != "limit" {
		t.Errorf("limit=0: %d %s", a.Status, a.Raw)
	}
}

func TestResourceFailures(t *testing.T) {
	w := newCoreWorld(t)
	body := `{"amount":1000,"payee":"emoney"}`
	inject := func(f banksim.Failures) {
		t.Helper()
		if err := w.admin.InjectFailures(context.Background(), coreBank, f); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("timeout", func(t *testing.T) {
		inject(banksim.Failures{Timeout: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", w.url+"/banks/0001/api/debits", strings.NewReader(body))
		req.Header.Set("Authorization", "DPoP g-full")
		req.Header.Set("Idempotency-Key", "t1")
		if resp, err := http.DefaultClient.Do(req); err == nil || !errors.Is(err, context.DeadlineExceeded) {
			if resp != nil {
				resp.Body.Close()
			}
			t.Fatalf("want the client to give up, got %v", err)
		}
		if b := w.balance(); b != 100_000 {
			t.Errorf("a timed-out debit moved money: %d", b)
		}
		if a := w.do("POST", "/banks/0001/api/debits", "g-full", "t1", body); a.Status != 201 {
			t.Errorf("after the timeout: %d %s", a.Status, a.Raw)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		inject(banksim.Failures{Status5xx: 2})
		before := w.balance()
		for i := 0; i < 2; i++ {
			if a := w.do("POST", "/banks/0001/api/debits", "g-full", "f1", body); a.Status != 503 || a.errCode() != "bank_unavailable" {
				t.Fatalf("injected 5xx: %d %s", a.Status, a.Raw)
			}
		}
		if w.balance() != before {
			t.Error("a 5xx debit moved money")
		}
		if a := w.do("GET", "/banks/0001/api/holder", "g-full", "", ""); a.Status != 200 {
			t.Errorf("after two 5xx: %d", a.Status)
		}
	})
	t.Run("slow", func(t *testing.T) {
		inject(banksim.Failures{Slow: 1, SlowDelay: 20 * time.Millisecond})
		if a := w.do("GET", "/banks/0001/api/holder", "g-full", "", ""); a.Status != 200 {
			t.Errorf("slow answer: %d", a.Status)
		}
		if f, _ := w.admin.PendingFailures(context.Background(), coreBank); f.Slow != 0 {
			t.Errorf("slow not used up: %+v", f)
		}
	})
	t.Run("applied but answer lost", func(t *testing.T) {
		inject(banksim.Failures{LoseAnswer: 1})
		before := w.balance()
		if a := w.do("POST", "/banks/0001/api/debits", "g-full", "lost-1", body); a.Status != 503 {
			t.Fatalf("lost answer: %d %s", a.Status, a.Raw)
		}
		if w.balance() != before-1000 {
			t.Fatalf("the debit was not applied: %d", w.balance())
		}
		again := w.do("POST", "/banks/0001/api/debits", "g-full", "lost-1", body)
		st, _ := w.sim.AccountStatement(coreBank, coreAccount)
		last := st.Entries[len(st.Entries)-1]
		if again.Status != 201 || again.JSON["id"] != last.ID || w.balance() != before-1000 {
			t.Fatalf("retry after a lost answer: %d %s (last entry %s, balance %d)", again.Status, again.Raw, last.ID, w.balance())
		}
	})
}

// A debit or credit whose body is still on its way when the grant is revoked (and
// mandate_revoked sent) must not move money: the grant is checked in the same locked step as
// the movement, after the body has arrived.
func TestResourceRevokedWhileBodyInFlight(t *testing.T) {
	for _, tc := range []struct{ path, body string }{
		{"/banks/0001/api/debits", `{"amount":1000,"payee":"emoney"}`},
		{"/banks/0001/api/credits", `{"amount":1000}`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := newCoreWorld(t)
			pr, pw := io.Pipe()
			req, _ := http.NewRequest("POST", w.url+tc.path, pr)
			req.Header.Set("Authorization", "DPoP g-full")
			req.Header.Set("Idempotency-Key", "race-1")
			done := make(chan *http.Response, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
				}
				done <- resp
			}()
			// Headers sent, body not: before the fix the token and grant were checked here.
			time.Sleep(200 * time.Millisecond)
			if d, err := w.sim.RevokeGrant(context.Background(), coreBank, "g-full"); err != nil || !d.Delivered {
				t.Fatalf("revoke: %v %+v", err, d)
			}
			io.WriteString(pw, tc.body)
			pw.Close()
			resp := <-done
			if resp == nil {
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || w.balance() != 100_000 {
				t.Fatalf("moved after the grant was revoked and mandate_revoked sent: %d, balance %d", resp.StatusCode, w.balance())
			}
		})
	}
}

// Injected failures are taken only by calls that pass the token and grant checks: a stranger's
// call cannot use them up, and is answered 401 as always.
func TestResourceFailuresOnlyForAuthenticatedCalls(t *testing.T) {
	w := newCoreWorld(t)
	if err := w.admin.InjectFailures(context.Background(), coreBank, banksim.Failures{Status5xx: 1, LoseAnswer: 1}); err != nil {
		t.Fatal(err)
	}
	body := `{"amount":1000,"payee":"emoney"}`
	for _, tok := range []string{"", "g-nope"} {
		if a := w.do("POST", "/banks/0001/api/debits", tok, "k1", body); a.Status != 401 {
			t.Fatalf("token %q: %d %s", tok, a.Status, a.Raw)
		}
	}
	if a := w.do("GET", "/banks/0001/api/statements", "g-holder", "", ""); a.Status != 403 {
		t.Fatalf("scope missing: %d %s", a.Status, a.Raw)
	}
	if f, _ := w.admin.PendingFailures(context.Background(), coreBank); f.Status5xx != 1 || f.LoseAnswer != 1 {
		t.Fatalf("refused calls took injected failures: %+v", f)
	}
	if a := w.do("POST", "/banks/0001/api/debits", "g-full", "k1", body); a.Status != 503 || w.balance() != 100_000 {
		t.Fatalf("the wallet's call: %d %s, balance %d", a.Status, a.Raw, w.balance())
	}
	// lose_answer: applied, answered 503; the retry with the key gets the original entry.
	if a := w.do("POST", "/banks/0001/api/debits", "g-full", "k1", body); a.Status != 503 || w.balance() != 99_000 {
		t.Fatalf("lost answer: %d %s, balance %d", a.Status, a.Raw, w.balance())
	}
	if a := w.do("POST", "/banks/0001/api/debits", "g-full", "k1", body); a.Status != 201 || a.Header.Get("Idempotent-Replayed") != "true" || w.balance() != 99_000 {
		t.Fatalf("retry: %d %s, balance %d", a.Status, a.Raw, w.balance())
	}
}

// A slow answer is a call handled at once and answered late: a client that gives up first has
// lost the answer, and its retry with the same key finds the debit made once.
func TestResourceSlowAnswerGivenUp(t *testing.T) {
	w := newCoreWorld(t)
	if err := w.admin.InjectFailures(context.Background(), coreBank, banksim.Failures{Slow: 1, SlowDelay: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", w.url+"/banks/0001/api/debits", strings.NewReader(`{"amount":1000,"payee":"emoney"}`))
	req.Header.Set("Authorization", "DPoP g-full")
	req.Header.Set("Idempotency-Key", "s1")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d before the delay", resp.StatusCode)
	}
	if a := w.do("POST", "/banks/0001/api/debits", "g-full", "s1", `{"amount":1000,"payee":"emoney"}`); a.Status != 201 || a.Header.Get("Idempotent-Replayed") != "true" || w.balance() != 99_000 {
		t.Fatalf("retry after giving up: %d %s, balance %d", a.Status, a.Raw, w.balance())
	}
}
