package banksim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"emoney/banksim"
)

func TestLegacyLinkAndDebit(t *testing.T) {
	w := newCoreWorldWith(t, withLegacy)
	link := func(holder, pin string) coreAnswer {
		t.Helper()
		b, _ := json.Marshal(banksim.LegacyLink{Client: coreClient, HolderKana: holder, Branch: "001", AccountNumber: "1234567", PIN: pin})
		return w.do("POST", "/banks/0001/legacy/link", "", "", string(b))
	}
	// Wrong PINs are counted but never lock: six wrong ones, then the right one still links.
	for i := 0; i < 6; i++ {
		if a := link("ﾔﾏﾀﾞ ﾀﾛｳ", "0000"); a.Status != 401 || a.errCode() != "unauthorized" {
			t.Fatalf("wrong PIN: %d %s", a.Status, a.Raw)
		}
	}
	if a := link("ﾔﾏﾀﾞ ﾊﾅｺ", "4321"); a.Status != 401 {
		t.Fatalf("wrong holder: %d %s", a.Status, a.Raw)
	}
	if a := link("ﾔﾏﾀﾞ ﾀﾛｳ", "12"); a.Status != 400 || a.errField("field") != "pin" {
		t.Fatalf("short PIN: %d %s", a.Status, a.Raw)
	}
	a := link("ﾔﾏﾀﾞ　ﾀﾛｳ", "4321") // a full-width space, as 2020 forms took it
	tok, _ := a.JSON["token"].(string)
	if a.Status != 201 || tok == "" || a.JSON["token_type"] != "Bearer" || a.JSON["account_masked"] != "****567" {
		t.Fatalf("link: %d %s", a.Status, a.Raw)
	}
	st, _ := w.admin.AccountStatement(context.Background(), coreBank, coreAccount)
	if st.LegacyWrongPINs != 7 {
		t.Errorf("wrong PINs counted %d, want 7", st.LegacyWrongPINs)
	}

	// The token pulls far more than any mandate would allow (¥30,000 a charge): no caps, no DPoP.
	d := w.do("POST", "/banks/0001/legacy/debits", "Bearer "+tok, "L1", `{"amount":90000}`)
	if d.Status != 201 || d.JSON["amount"] != 90000.0 || d.JSON["payee"] != "emoney" {
		t.Fatalf("legacy debit: %d %s", d.Status, d.Raw)
	}
	if again := w.do("POST", "/banks/0001/legacy/debits", "Bearer "+tok, "L1", `{"amount":90000}`); again.Status != 201 || again.JSON["id"] != d.JSON["id"] {
		t.Errorf("replay: %d %s", again.Status, again.Raw)
	}
	if c := w.do("POST", "/banks/0001/legacy/debits", "Bearer "+tok, "L1", `{"amount":1}`); c.Status != 409 {
		t.Errorf("same key, other body: %d %s", c.Status, c.Raw)
	}
	if a := w.do("POST", "/banks/0001/legacy/debits", "Bearer "+tok, "L2", `{"amount":20000}`); a.Status != 422 || a.errCode() != "insufficient_funds" {
		t.Errorf("over the balance: %d %s", a.Status, a.Raw)
	}
	for _, bad := range []string{"", "Bearer lg_forged", "Bearer "} {
		if a := w.do("POST", "/banks/0001/legacy/debits", bad, "L3", `{"amount":1}`); a.Status != 401 {
			t.Errorf("token %q: %d %s", bad, a.Status, a.Raw)
		}
	}
	if w.balance() != 10_000 {
		t.Errorf("balance %d, want 10000", w.balance())
	}

	// A fraud report on a legacy debit reaches the operator that pulled it, with no grant.
	del, err := w.sim.ReportFraud(context.Background(), coreBank, coreAccount, d.JSON["id"].(string))
	var fr banksim.FraudReport
	if err != nil || !del.Delivered || json.Unmarshal(del.Event.Data, &fr) != nil || fr.GrantID != "" || fr.Amount != 90000 {
		t.Errorf("fraud report on a legacy debit: %+v %v", del, err)
	}
}

func TestLegacyUnknownClient(t *testing.T) {
	w := newCoreWorldWith(t, withLegacy)
	b, _ := json.Marshal(banksim.LegacyLink{Client: "nobody", HolderKana: "ﾔﾏﾀﾞ ﾀﾛｳ", Branch: "001", AccountNumber: "1234567", PIN: "4321"})
	if a := w.do("POST", "/banks/0001/legacy/link", "", "", string(b)); a.Status != 401 || a.errField("field") != "client_id" {
		t.Errorf("%d %s", a.Status, a.Raw)
	}
}

func withLegacy(c *banksim.Config) { c.Legacy = true }

// The legacy endpoint is served only when the simulator is told to.
func TestLegacyOffByDefault(t *testing.T) {
	w := newCoreWorld(t)
	b, _ := json.Marshal(banksim.LegacyLink{Client: coreClient, HolderKana: "ﾔﾏﾀﾞ ﾀﾛｳ", Branch: "001", AccountNumber: "1234567", PIN: "4321"})
	for _, path := range []string{"/banks/0001/legacy/link", "/banks/0001/legacy/debits"} {
		req, _ := http.NewRequest("POST", w.url+path, strings.NewReader(string(b)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s without Config.Legacy: %d, want 404", path, resp.StatusCode)
		}
	}
}

// A legacy token is the issuing bank's: at another bank, even for an account with the same
// branch and number, it is nothing.
func TestLegacyTokenBoundToItsBank(t *testing.T) {
	w := newCoreWorldWith(t, withLegacy)
	if _, err := w.sim.AddCustomer("0005", banksim.NewCustomer{LoginID: "jiro", Password: "pw-jiro-1", HolderKana: "ｻﾄｳ ｼﾞﾛｳ", BirthDate: "1980-01-01", Phone: "+819011112222"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.AddAccount("0005", "jiro", "001", "1234567", "9999", 70_000); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(banksim.LegacyLink{Client: coreClient, HolderKana: "ﾔﾏﾀﾞ ﾀﾛｳ", Branch: "001", AccountNumber: "1234567", PIN: "4321"})
	a := w.do("POST", "/banks/0001/legacy/link", "", "", string(b))
	tok, _ := a.JSON["token"].(string)
	if a.Status != 201 || tok == "" {
		t.Fatalf("link: %d %s", a.Status, a.Raw)
	}
	if d := w.do("POST", "/banks/0005/legacy/debits", "Bearer "+tok, "x1", `{"amount":1000}`); d.Status != 401 {
		t.Fatalf("bank 0001's token at bank 0005: %d %s", d.Status, d.Raw)
	}
	if st, _ := w.sim.AccountStatement("0005", "001-1234567"); st.Balance != 70_000 {
		t.Fatalf("bank 0005's account moved: %d", st.Balance)
	}
}
