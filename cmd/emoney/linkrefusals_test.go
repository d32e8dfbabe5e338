package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"emoney"
	"emoney/banklink"
	"emoney/banksim"
	emhttp "emoney/http"
)

// lastAudit returns the detail of the last audit entry with the action (nil if none) and how
// many there are.
func (e *linkEnv) lastAudit(action string) (map[string]any, int) {
	e.t.Helper()
	var last map[string]any
	n := 0
	ctx := context.Background()
	if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
		return tx.ScanAudit(ctx, func(a emoney.AuditEntry) error {
			if a.Action == action {
				n++
				last = map[string]any{}
				return json.Unmarshal(a.Detail, &last)
			}
			return nil
		})
	}); err != nil {
		e.t.Fatal(err)
	}
	return last, n
}

// begin starts a link at bank for token and returns the authorization URL (failing the test
// unless the wallet answers 201).
func (e *linkEnv) begin(token, bank string) string {
	e.t.Helper()
	var st emhttp.LinkStart
	if resp := call(e.t, "POST", e.api+"/links", token, `{"bank":"`+bank+`"}`, &st); resp.StatusCode != 201 {
		e.t.Fatalf("start link: %d", resp.StatusCode)
	}
	return st.AuthorizationURL
}

// tamperFlow rewrites the stored flow a callback's state names, as an attacker with the
// database could not (it is sealed) but a protocol test must: the real server never redeems a
// code with another verifier or DPoP key than the one it made.
func (e *linkEnv) tamperFlow(callback string, edit func(f map[string]any)) {
	t := e.t
	t.Helper()
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(u.Query().Get("state")))
	binding := "linkflow:" + hex.EncodeToString(h[:])
	ctx := context.Background()
	if err := e.svc.store.Update(ctx, func(tx emoney.Tx) error {
		lf, err := tx.TakeLinkFlow(ctx, h[:], time.Now())
		if err != nil {
			return err
		}
		raw, err := e.svc.keys.Open(lf.Sealed, binding)
		if err != nil {
			return err
		}
		var f map[string]any
		if err := json.Unmarshal(raw, &f); err != nil {
			return err
		}
		edit(f)
		if raw, err = json.Marshal(f); err != nil {
			return err
		}
		if lf.Sealed, err = e.svc.keys.Seal(raw, binding); err != nil {
			return err
		}
		return tx.SaveLinkFlow(ctx, lf)
	}); err != nil {
		t.Fatal(err)
	}
}

// expireFlowsOf makes every flow of user waiting for its callback expired, as if the customer
// had been gone for longer than a flow lives (the server's clock is not the test's to move).
// Only through the store's interface: every flow is taken and the others are saved again.
func (e *linkEnv) expireFlowsOf(user emoney.ID) {
	e.t.Helper()
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	if err := e.svc.store.Update(ctx, func(tx emoney.Tx) error {
		all, err := tx.TakeExpiredLinkFlows(ctx, time.Now().Add(24*time.Hour), 10_000)
		if err != nil {
			return err
		}
		var mine []emoney.LinkFlow
		for _, f := range all {
			if f.User == user {
				f.CreatedAt, f.ExpiresAt = past, past.Add(time.Second)
				mine = append(mine, f)
			} else if err := tx.SaveLinkFlow(ctx, f); err != nil {
				return err
			}
		}
		for _, f := range mine {
			if err := tx.SaveLinkFlow(ctx, f); err != nil {
				return err
			}
		}
		if len(mine) == 0 {
			return errors.New("the user has no flow waiting")
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// TestLinkRefusalsAudited plays every refusal of issue 6 item 6 over the real server and the
// in-process bank simulator, and checks each one's error code (or refusal page) AND the audit
// entry the wallet wrote for it. Where the real server cannot be made to misbehave (a wrong PKCE
// verifier, a code redeemed with another DPoP key), the stored flow is tampered with, and the
// case says so.
func TestLinkRefusalsAudited(t *testing.T) {
	e := startLinking(t)
	senior := enrolStaff(t, e.svc, e.api, "senior@example.com", emoney.RoleSeniorAnalyst)
	n := 100
	next := func() int { n++; return n }
	// A fresh honest pair: a bank customer and a wallet whose eKYC identity is the holder's.
	// (eKYC verifies one identity once: each pair has its own birth date.)
	birth := func(i int) string {
		return time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
	}
	pair := func(stepUp bool) (string, banksim.SignIn) {
		i := next()
		in := e.customer(fmt.Sprintf("c%d", i), "ﾔﾏﾀﾞ ﾀﾛｳ", birth(i), fmt.Sprintf("+81902222%04d", i), fmt.Sprintf("7%06d", i))
		token, _ := e.walletUser(fmt.Sprintf("w%d@example.com", i), i, "ヤマダ タロウ", birth(i), stepUp)
		return token, in
	}
	// authorize signs in at the bank and returns the callback URL the bank redirects to.
	authorize := func(token string, in banksim.SignIn) string {
		loc, err := banksim.NewBrowser().Authorize(e.begin(token, "0001"), in)
		if err != nil {
			t.Fatal(err)
		}
		return loc.String()
	}
	type want struct {
		status int    // the API's or the callback page's status
		code   string // the error code ("" for a refusal page of the callback)
		action string // the audit entry
		detail map[string]any
	}
	cases := []struct {
		name string
		run  func(t *testing.T) (status int, code string)
		want want
	}{
		{"WalletBelowTier2", func(t *testing.T) (int, string) {
			token, _ := user(t, e.api, fmt.Sprintf("t0-%d@example.com", next()))
			var ae apiError
			resp := call(t, "POST", e.api+"/links", token, `{"bank":"0001"}`, &ae)
			return resp.StatusCode, ae.Error.Code
		}, want{403, "forbidden", "link.begin_refused", map[string]any{"bank": "0001", "code": "forbidden"}}},

		{"StaleStepUp", func(t *testing.T) (int, string) {
			token, _ := pair(false)
			var ae apiError
			resp := call(t, "POST", e.api+"/links", token, `{"bank":"0001"}`, &ae)
			return resp.StatusCode, ae.Error.Code
		}, want{403, "challenge_required", "link.begin_refused", map[string]any{"code": "challenge_required", "reason": "totp"}}},

		{"ReplayedCode", func(t *testing.T) (int, string) {
			// The server takes a flow once: the replayed callback never reaches the bank.
			// (The bank's own refusal of a code redeemed twice is banklink's client test.)
			token, in := pair(true)
			cb := authorize(token, in)
			if status, _ := e.get(cb); status != 200 {
				t.Fatalf("first callback: %d", status)
			}
			status, _ := e.get(cb)
			return status, ""
		}, want{404, "", "link.callback_refused", map[string]any{"code": "not_found", "with_code": true, "bank": "0001"}}},

		{"WrongPKCEVerifier", func(t *testing.T) (int, string) {
			// Tampered flow: the server redeems the code with a verifier the bank never saw.
			token, in := pair(true)
			cb := authorize(token, in)
			e.tamperFlow(cb, func(f map[string]any) { f["verifier"] = strings.Repeat("x", 43) })
			status, _ := e.get(cb)
			return status, ""
		}, want{403, "", "link.failed", map[string]any{"step": "authorization", "code": "declined", "bank": "0001"}}},

		{"TokenWithoutItsDPoPKey", func(t *testing.T) (int, string) {
			// Tampered flow: the code is bound to the flow's DPoP key (dpop_jkt); the server
			// redeems it with another key, as a thief of the code would.
			token, in := pair(true)
			cb := authorize(token, in)
			other, err := banklink.NewDPoPKey()
			if err != nil {
				t.Fatal(err)
			}
			e.tamperFlow(cb, func(f map[string]any) { f["dpop_key"] = other })
			status, _ := e.get(cb)
			return status, ""
		}, want{403, "", "link.failed", map[string]any{"step": "authorization", "code": "declined"}}},

		{"MismatchedState", func(t *testing.T) (int, string) {
			// A callback swapped in from another flow: flow B's state with flow A's code.
			ta, ina := pair(true)
			tb, inb := pair(true)
			cbA, cbB := authorize(ta, ina), authorize(tb, inb)
			ua, _ := url.Parse(cbA)
			ub, _ := url.Parse(cbB)
			q := ub.Query()
			q.Set("code", ua.Query().Get("code"))
			ub.RawQuery = q.Encode()
			status, _ := e.get(ub.String())
			return status, ""
		}, want{403, "", "link.failed", map[string]any{"step": "authorization", "code": "declined"}}},

		{"MismatchedIss", func(t *testing.T) (int, string) {
			token, in := pair(true)
			u, _ := url.Parse(authorize(token, in))
			q := u.Query()
			q.Set("iss", "https://evil.example/banks/0001")
			u.RawQuery = q.Encode()
			status, _ := e.get(u.String())
			return status, ""
		}, want{400, "", "link.failed", map[string]any{"step": "authorization", "code": "invalid"}}},

		{"ExpiredRequestURI", func(t *testing.T) (int, string) {
			// The bank's request_uri is single-use and lives 60 s; the simulator's clock is not
			// the test's to move, so this uses a spent one, which the bank refuses with the same
			// page. The customer never comes back: the wallet audits the flow once it expires
			// unused (at the next Begin of anyone).
			i := next()
			in := e.customer(fmt.Sprintf("c%d", i), "ﾔﾏﾀﾞ ﾀﾛｳ", birth(i), fmt.Sprintf("+81902222%04d", i), fmt.Sprintf("7%06d", i))
			token, id := e.walletUser(fmt.Sprintf("w%d@example.com", i), i, "ヤマダ タロウ", birth(i), true)
			defer func() { e.expireFlowsOf(id); e.begin(token, "0001") }()
			authURL := e.begin(token, "0001")
			if _, err := banksim.NewBrowser().Authorize(authURL, in); err != nil {
				t.Fatal(err)
			}
			var pe *banksim.PageError
			if _, err := banksim.NewBrowser().Authorize(authURL, in); !errors.As(err, &pe) || pe.Page.Error != "invalid_request_uri" {
				t.Fatalf("a spent request_uri: %v", err)
			}
			return 0, ""
		}, want{0, "", "link.failed", map[string]any{"bank": "0001", "step": "bank", "code": "expired"}}},

		{"ConsentDeniedAtTheBank", func(t *testing.T) (int, string) {
			// A refusal at the bank that comes back: the wallet audits what it saw.
			token, in := pair(true)
			in.Deny = true
			status, _ := e.get(authorize(token, in))
			return status, ""
		}, want{403, "", "link.failed", map[string]any{"step": "authorization", "code": "declined", "bank": "0001"}}},

		{"HolderNameMismatch", func(t *testing.T) (int, string) {
			i := next()
			in := e.customer(fmt.Sprintf("c%d", i), "ﾀﾅｶ ｲﾁﾛｳ", birth(i), fmt.Sprintf("+81902222%04d", i), fmt.Sprintf("7%06d", i))
			token, _ := e.walletUser(fmt.Sprintf("w%d@example.com", i), i, "スズキ ハナ", birth(i), true)
			status, _ := e.get(authorize(token, in))
			return status, ""
		}, want{200, "", "link.refused", map[string]any{"outcome": "refuse", "reason": "name"}}},

		{"BirthDateMismatch", func(t *testing.T) (int, string) {
			i := next()
			in := e.customer(fmt.Sprintf("c%d", i), "ﾔﾏﾀﾞ ﾀﾛｳ", birth(i+1), fmt.Sprintf("+81902222%04d", i), fmt.Sprintf("7%06d", i))
			token, _ := e.walletUser(fmt.Sprintf("w%d@example.com", i), i, "ヤマダ タロウ", birth(i), true)
			status, _ := e.get(authorize(token, in))
			return status, ""
		}, want{200, "", "link.refused", map[string]any{"outcome": "refuse", "reason": "birth_date"}}},

		{"SecondWalletOnALinkedAccount", func(t *testing.T) (int, string) {
			token, in := pair(true)
			if status, page := e.get(authorize(token, in)); status != 200 || !strings.Contains(page, "linked") {
				t.Fatalf("first wallet: %d", status)
			}
			i := next()
			// Another wallet whose identity matches the holder too (its long vowel written ー).
			second, _ := e.walletUser(fmt.Sprintf("w%d@example.com", i), i, "ヤマダ タロー", birth(n-1), true)
			status, _ := e.get(authorize(second, in))
			return status, ""
		}, want{200, "", "link.refused", map[string]any{"outcome": "refuse", "reason": "account_taken"}}},

		{"OTPBruteForceLockedAtTheBank", func(t *testing.T) (int, string) {
			// Five wrong codes lock the customer at the bank, which never sends the browser
			// back: the wallet audits each attempt's flow once it expires unused.
			i := next()
			in := e.customer(fmt.Sprintf("c%d", i), "ﾔﾏﾀﾞ ﾀﾛｳ", birth(i), fmt.Sprintf("+81902222%04d", i), fmt.Sprintf("7%06d", i))
			token, id := e.walletUser(fmt.Sprintf("w%d@example.com", i), i, "ヤマダ タロウ", birth(i), true)
			in.Code = func() (string, error) { return "000000", nil }
			var pe *banksim.PageError
			for i := range 5 {
				_, err := banksim.NewBrowser().Authorize(e.begin(token, "0001"), in)
				if !errors.As(err, &pe) || (pe.Page.Error != "wrong_code" && (i < 4 || pe.Page.Error != "locked")) {
					t.Fatalf("wrong code %d: %v", i+1, err)
				}
			}
			// Even with the right password, from another wallet: the bank's locked page.
			j := next()
			other, _ := e.walletUser(fmt.Sprintf("w%d@example.com", j), j, "ヤマダ タロウ", birth(j), true)
			_, err := banksim.NewBrowser().Authorize(e.begin(other, "0001"), in)
			if !errors.As(err, &pe) || pe.Page.Error != "locked" {
				t.Fatalf("after five wrong codes: %v, want the bank's locked page", err)
			}
			_, before := e.lastAudit("link.failed")
			e.expireFlowsOf(id)
			e.begin(other, "0001") // anyone's next Begin audits the flows that expired unused
			if _, after := e.lastAudit("link.failed"); after != before+5 {
				t.Errorf("%d link.failed entries for the five expired attempts, want 5", after-before)
			}
			return 0, "" // no answer reaches the wallet: the bank stops the customer on its own page
		}, want{0, "", "link.failed", map[string]any{"bank": "0001", "step": "bank", "code": "expired"}}},

		{"BankSwitchedOff", func(t *testing.T) (int, string) {
			token, _ := pair(true)
			if _, err := e.svc.policies.PullKillSwitch(context.Background(), "0005", emoney.SwitchNewLinks, "phishing wave", time.Time{}, "cli"); err != nil {
				t.Fatal(err)
			}
			var ae apiError
			resp := call(t, "POST", e.api+"/links", token, `{"bank":"0005"}`, &ae)
			if ae.Error.Reason != "new_links_off" {
				t.Errorf("reason %q", ae.Error.Reason)
			}
			return resp.StatusCode, ae.Error.Code
		}, want{503, "suspended", "link.begin_refused", map[string]any{"bank": "0005", "code": "suspended", "reason": "new_links_off"}}},

		{"AllBanksSwitchedOff", func(t *testing.T) (int, string) {
			token, _ := pair(true)
			var ae apiError
			if resp := call(t, "POST", e.api+"/staff/banks/all/killswitch/new_links", senior.token, `{"reason":"industry-wide phishing wave"}`, nil); resp.StatusCode != 200 {
				t.Fatalf("pull the global switch: %d", resp.StatusCode)
			}
			defer call(t, "DELETE", e.api+"/staff/banks/all/killswitch/new_links", senior.token, `{"reason":"over"}`, nil)
			resp := call(t, "POST", e.api+"/links", token, `{"bank":"0001"}`, &ae)
			return resp.StatusCode, ae.Error.Code
		}, want{503, "suspended", "link.begin_refused", map[string]any{"bank": "0001", "code": "suspended", "reason": "new_links_off"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := e.t
			e.t = t // the helpers fail this case, not the whole table
			defer func() { e.t = parent }()
			_, before := e.lastAudit(c.want.action)
			status, code := c.run(t)
			if status != c.want.status || code != c.want.code {
				t.Errorf("answer %d %q, want %d %q", status, code, c.want.status, c.want.code)
			}
			detail, after := e.lastAudit(c.want.action)
			if after <= before {
				t.Fatalf("no new %s audit entry", c.want.action)
			}
			for k, v := range c.want.detail {
				if fmt.Sprint(detail[k]) != fmt.Sprint(v) {
					t.Errorf("audit %s: %s = %v, want %v (%v)", c.want.action, k, detail[k], v, detail)
				}
			}
		})
	}
}
