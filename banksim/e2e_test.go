package banksim_test

import (
	"net/http"
	"strings"
	"testing"
)

// The whole way a wallet goes, with nothing stood in: PAR, the customer's login, code and
// consent on the bank's pages, the code redeemed with PKCE and DPoP, then the real resource
// APIs (holder, debit within the mandate, statements) with DPoP proofs, and the mandate's caps
// and the token's key binding enforced by them.
func TestEndToEndThroughRealResources(t *testing.T) {
	e := newEnv(t)
	var a authz
	q := e.authorize(&a)
	tok := e.redeem(&a, q.Get("code"), e.dpopKey)
	if tok.status != 200 {
		t.Fatalf("token: %d %v", tok.status, tok.body)
	}
	at := tok.str("access_token")
	call := func(method, path, body, key string, proofKey bool) answer {
		t.Helper()
		req, err := http.NewRequest(method, e.issuer+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		req.Header.Set("Authorization", "DPoP "+at)
		k := e.dpopKey
		if !proofKey {
			k = newKey(t) // another key than the token's
		}
		req.Header.Set("DPoP", e.proof(k, method, e.issuer+path, at, nil))
		return e.do(req)
	}

	holder := call("GET", "/api/holder", "", "", true)
	if holder.status != 200 || holder.str("holder_kana") != "ﾔﾏﾀﾞ ﾊﾅｺ" || holder.str("birth_date") != "1990-04-01" {
		t.Fatalf("holder: %d %v", holder.status, holder.body)
	}
	// The consent was for at most 10,000 a charge to "emoney top-up".
	if d := call("POST", "/api/debits", `{"amount":10001,"payee":"emoney top-up"}`, "d0", true); d.status < 400 {
		t.Errorf("a debit over the mandate's per-charge cap: %d %v", d.status, d.body)
	}
	if d := call("POST", "/api/debits", `{"amount":100,"payee":"someone else"}`, "d1", true); d.status < 400 {
		t.Errorf("a debit to another payee: %d %v", d.status, d.body)
	}
	d := call("POST", "/api/debits", `{"amount":8000,"payee":"emoney top-up"}`, "d2", true)
	if d.status != 200 && d.status != 201 {
		t.Fatalf("debit: %d %v", d.status, d.body)
	}
	again := call("POST", "/api/debits", `{"amount":8000,"payee":"emoney top-up"}`, "d2", true)
	if again.str("id") == "" || again.str("id") != d.str("id") {
		t.Errorf("the same debit retried: %v, first %v", again.body, d.body)
	}
	if stolen := call("POST", "/api/debits", `{"amount":1000,"payee":"emoney top-up"}`, "d3", false); stolen.status != http.StatusUnauthorized {
		t.Errorf("the token with another key's proof: %d %v", stolen.status, stolen.body)
	}
	st := call("GET", "/api/statements", "", "", true)
	if st.status != http.StatusForbidden { // the consent did not include statements
		t.Errorf("statements without the scope: %d %v", st.status, st.body)
	}
	acct, err := e.sim.AccountStatement(bankCode, smsAccount)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Balance != 42000 {
		t.Errorf("balance after one 8,000 debit (retried once) of 50,000: %d", acct.Balance)
	}
}
