package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"emoney"
	"emoney/bank"
)

type staffBank struct {
	Code       string `json:"code"`
	Configured bool   `json:"configured"`
	Policy     struct {
		Enabled      bool  `json:"enabled"`
		Version      int64 `json:"version"`
		MatchLink    int   `json:"match_link"`
		KillSwitches map[string]struct {
			Pulled   bool   `json:"pulled"`
			PulledBy string `json:"pulled_by"`
			Reason   string `json:"reason"`
		} `json:"kill_switches"`
	} `json:"policy"`
}

// Kill switches over the real server: pulling top-ups at 0001 refuses top-ups there (503
// suspended, before anything is held or the bank is called) and nothing else; releasing lets
// them through again; roles, step-up-free paths and stale versions are refused; every change is
// in the audit log; and the CLI pulls a switch that the running server then enforces.
func TestKillSwitchesOverHTTP(t *testing.T) {
	svc, api, db := startBanked(t)
	svc.sim.Set("9900", bank.SimBank{Behaviour: bank.Succeed}) // both banks answer yes here
	alice, _ := verifiedUser(t, svc, api, "alice@example.com", 1)
	senior := enrolStaff(t, svc, api, "senior@example.com", emoney.RoleSeniorAnalyst)
	admin := enrolStaff(t, svc, api, "admin@example.com", emoney.RoleAdmin)
	support := enrolStaff(t, svc, api, "support@example.com", emoney.RoleSupport)
	var e apiError

	topUp := func(key, code string, amount int64) (int, apiError) {
		t.Helper()
		var e apiError
		resp := post(t, api+"/topups", alice, key, `{"bank":"`+code+`","amount":`+itoa(amount)+`}`, &e)
		return resp.StatusCode, e
	}
	if st, e := topUp("t1", "0001", 20000); st != 201 {
		t.Fatalf("top-up before any switch: %d %+v", st, e)
	}

	// Reading: every staff member; both configured banks with their defaults.
	var list struct{ Banks []staffBank }
	if resp := call(t, "GET", api+"/staff/banks", support.token, "", &list); resp.StatusCode != 200 || len(list.Banks) != 2 ||
		list.Banks[0].Code != "0001" || !list.Banks[0].Configured || list.Banks[0].Policy.Version != 0 || !list.Banks[0].Policy.Enabled {
		t.Fatalf("list: %d %+v", resp.StatusCode, list)
	}
	if resp := call(t, "GET", api+"/staff/banks", alice, "", &e); resp.StatusCode != 403 {
		t.Errorf("a customer lists banks: %d", resp.StatusCode)
	}

	// Pulling: not support, reason required, unknown switch not found.
	if resp := call(t, "POST", api+"/staff/banks/0001/killswitch/topups", support.token, `{"reason":"phishing"}`, &e); resp.StatusCode != 403 || e.Error.Code != "forbidden" {
		t.Fatalf("support pulls a switch: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/staff/banks/0001/killswitch/topups", senior.token, `{"reason":" "}`, &e); resp.StatusCode != 400 || e.Error.Field != "reason" {
		t.Fatalf("no reason: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/staff/banks/0001/killswitch/everything", senior.token, `{"reason":"x"}`, &e); resp.StatusCode != 404 {
		t.Fatalf("unknown switch: %d %+v", resp.StatusCode, e)
	}
	var b staffBank
	if resp := call(t, "POST", api+"/staff/banks/0001/killswitch/topups", senior.token, `{"reason":"phishing wave at 0001"}`, &b); resp.StatusCode != 200 ||
		!b.Policy.KillSwitches["topups"].Pulled || b.Policy.KillSwitches["topups"].PulledBy != "staff:"+senior.id || b.Policy.Version != 1 {
		t.Fatalf("pull: %d %+v", resp.StatusCode, b)
	}
	if resp := call(t, "POST", api+"/staff/banks/0001/killswitch/topups", admin.token, `{"reason":"again"}`, &e); resp.StatusCode != 409 {
		t.Errorf("pulling a pulled switch: %d", resp.StatusCode)
	}

	// Enforced on the next request, before any hold: the bank is not called, nothing is held.
	debits := svc.sim.Calls("0001").Debit
	var before, after wallet
	call(t, "GET", api+"/me", alice, "", &before)
	st, e := topUp("t2", "0001", 5000)
	if st != 503 || e.Error.Code != "suspended" || e.Error.Reason != "topups_off" || e.Error.RetryAfter != 0 {
		t.Fatalf("top-up with the switch pulled: %d %+v", st, e)
	}
	call(t, "GET", api+"/me", alice, "", &after)
	if after != before || svc.sim.Calls("0001").Debit != debits {
		t.Errorf("a suspended top-up held money or called the bank: %+v → %+v, debits %d → %d", before, after, debits, svc.sim.Calls("0001").Debit)
	}
	if st, e := topUp("t1", "0001", 20000); st != 201 {
		t.Errorf("a retry of a top-up made before the switch: %d %+v, want its first answer", st, e)
	}
	if st, e := topUp("t3", "9900", 5000); st != 201 {
		t.Errorf("top-up at another bank: %d %+v", st, e)
	}
	if resp := post(t, api+"/withdrawals", alice, "w1", `{"bank":"0001","amount":3000}`, &e); resp.StatusCode != 201 {
		t.Errorf("withdrawal at 0001 with only top-ups pulled: %d %+v", resp.StatusCode, e)
	}

	// Releasing: reason required; then top-ups work again at once.
	if resp := call(t, "DELETE", api+"/staff/banks/0001/killswitch/topups", senior.token, `{}`, &e); resp.StatusCode != 400 || e.Error.Field != "reason" {
		t.Errorf("release without a reason: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "DELETE", api+"/staff/banks/0001/killswitch/topups", admin.token, `{"reason":"bank confirmed the fix"}`, &b); resp.StatusCode != 200 || b.Policy.KillSwitches["topups"].Pulled || b.Policy.Version != 2 {
		t.Fatalf("release: %d %+v", resp.StatusCode, b)
	}
	if st, e := topUp("t4", "0001", 5000); st != 201 {
		t.Errorf("top-up after release: %d %+v", st, e)
	}

	// Policy: admins only; a stale version is a conflict; a disabled bank is suspended.
	settings := `"enabled":false,"factors":["pwd","otp"],"notes":"maintenance","cooling_off_seconds":259200,"cooling_off_topup_cap":10000,"cooling_off_daily_cap":30000,"match_link":92,"match_review":75,"reconsent_days":180`
	if resp := call(t, "PUT", api+"/staff/banks/9900/policy", senior.token, `{"version":0,`+settings+`}`, &e); resp.StatusCode != 403 {
		t.Errorf("a senior analyst sets a policy: %d", resp.StatusCode)
	}
	if resp := call(t, "PUT", api+"/staff/banks/9900/policy", admin.token, `{"version":0,"enabled":false}`, &e); resp.StatusCode != 400 || e.Error.Code != "invalid" {
		t.Errorf("a partial policy: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "PUT", api+"/staff/banks/9900/policy", admin.token, `{"version":0,`+settings+`}`, &b); resp.StatusCode != 200 || b.Policy.Version != 1 || b.Policy.Enabled || b.Policy.MatchLink != 92 {
		t.Fatalf("set policy: %d %+v", resp.StatusCode, b)
	}
	if resp := call(t, "PUT", api+"/staff/banks/9900/policy", admin.token, `{"version":0,`+settings+`}`, &e); resp.StatusCode != 409 || e.Error.Code != "conflict" {
		t.Errorf("stale version: %d %+v", resp.StatusCode, e)
	}
	if st, e := topUp("t5", "9900", 5000); st != 503 || e.Error.Reason != "bank_disabled" {
		t.Errorf("top-up at a disabled bank: %d %+v", st, e)
	}
	if resp := call(t, "GET", api+"/staff/banks/12", support.token, "", &e); resp.StatusCode != 404 {
		t.Errorf("not a bank code: %d", resp.StatusCode)
	}

	// The CLI pulls withdrawals at 0001 in the database; the server enforces it within 1 s
	// (polled, not timed).
	out, _, err := cli(t, nil, "bank", "killswitch", "--db", db, "--bank", "0001", "--switch", "withdrawals", "--pull", "--reason", "API down, bank called")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Pulled  bool
		Version int64
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &res); err != nil || !res.Pulled || res.Version != 3 {
		t.Fatalf("cli: %v %q", err, out)
	}
	if _, _, err := cli(t, nil, "bank", "killswitch", "--db", db, "--bank", "0001", "--switch", "withdrawals", "--pull", "--reason", "again"); emoney.ErrorCode(err) != emoney.EConflict {
		t.Errorf("cli pulling a pulled switch: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		resp := post(t, api+"/withdrawals", alice, "w2-"+itoa(int64(i)), `{"bank":"0001","amount":1000}`, &e)
		if resp.StatusCode == 503 && e.Error.Reason == "withdrawals_off" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never enforced the CLI's switch: %d %+v", resp.StatusCode, e)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Every change is audited, by whom, in order, and the chain is whole.
	var entries []emoney.AuditEntry
	if err := svc.store.View(context.Background(), func(tx emoney.ReadTx) error {
		return tx.ScanAudit(context.Background(), func(a emoney.AuditEntry) error {
			if a.Object == "bank:0001" || a.Object == "bank:9900" {
				entries = append(entries, a)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"killswitch.pull staff:" + senior.id + " bank:0001", "killswitch.release staff:" + admin.id + " bank:0001",
		"bank_policy.set staff:" + admin.id + " bank:9900", "killswitch.pull cli bank:0001"}
	if len(entries) != len(want) {
		t.Fatalf("%d bank audit entries, want %d", len(entries), len(want))
	}
	for i, a := range entries {
		if got := a.Action + " " + a.Actor + " " + a.Object; got != want[i] {
			t.Errorf("audit %d: %s, want %s", i, got, want[i])
		}
	}
	if _, _, err := cli(t, nil, "audit", "verify", "--db", db); err != nil {
		t.Errorf("audit verify: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// lastLine is the last non-empty line of s: a command's JSON answer (specs/cli.md).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// enrolStaff is newStaff for a service started by startBanked (whose keyset the CLI does not
// know): the account is made in-process, enrolled and signed in over the API.
func enrolStaff(t *testing.T, svc *service, api, email string, role emoney.Role) staffMember {
	t.Helper()
	u, code, err := svc.identity.CreateStaff(context.Background(), email, role)
	if err != nil {
		t.Fatal(err)
	}
	var enrol struct{ Secret string }
	if resp := call(t, "POST", api+"/staff/enrol", "", `{"code":"`+code+`","password":"a long staff passphrase"}`, &enrol); resp.StatusCode != 201 {
		t.Fatalf("enrol %s: %d", email, resp.StatusCode)
	}
	m := staffMember{email: email, secret: enrol.Secret, id: u.ID.String()}
	m.token = m.login(t, api, time.Now(), 200)
	return m
}
