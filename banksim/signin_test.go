package banksim_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"emoney/banksim"

	"github.com/pquerna/otp/totp"
)

// loginPage pushes an authorization request and opens its login page in a new browser.
func (e *env) loginPage(t *testing.T) (*banksim.Browser, *banksim.Page) {
	t.Helper()
	var a authz
	e.par(&a, e.parForm(&a), "")
	br := banksim.NewBrowser()
	p, err := br.Get(e.authorizeURL(&a))
	if err != nil || p.Name != "login" {
		t.Fatalf("login page: %v %+v", err, p)
	}
	return br, p
}

// signInCode signs login in with the password and submits code; it returns the page reached.
func (e *env) signInCode(t *testing.T, login, code string) *banksim.Page {
	t.Helper()
	br, p := e.loginPage(t)
	p, err := br.Submit(p.Forms["login"], url.Values{"login_id": {login}, "password": {password}})
	if err != nil || p.Name != "code" {
		t.Fatalf("password: %v %s %s", err, p.Name, p.Error)
	}
	p, err = br.Submit(p.Forms["code"], url.Values{"code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A TOTP code signs in once (RFC 6238 §5.2): not again in another flow, and a code of an earlier
// time step is refused once a later one was accepted; the next step's code works.
func TestTOTPCodeWorksOnce(t *testing.T) {
	e := newEnv(t)
	code, _ := e.totpCode()
	if p := e.signInCode(t, totpLogin, code); p.Name != "consent" {
		t.Fatalf("first use: %s %s", p.Name, p.Error)
	}
	if p := e.signInCode(t, totpLogin, code); p.Name != "code" || p.Error != "wrong_code" {
		t.Fatalf("the same code again: %s %s", p.Name, p.Error)
	}
	earlier := e.clock.Now()
	e.clock.Advance(30 * time.Second)
	next, _ := e.totpCode()
	if p := e.signInCode(t, totpLogin, next); p.Name != "consent" {
		t.Fatalf("next step's code: %s %s", p.Name, p.Error)
	}
	// The previous step is still inside the one-step skew, but older than the accepted one.
	prev, _ := totp.GenerateCode(e.totpSecret, earlier.Add(-30*time.Second))
	if p := e.signInCode(t, totpLogin, prev); p.Name != "code" || p.Error != "wrong_code" {
		t.Fatalf("an earlier step after a later one: %s %s", p.Name, p.Error)
	}
}

// An SMS code is spent by its first use: two flows waiting on the same code, one gets through.
func TestSMSCodeWorksOnce(t *testing.T) {
	e := newEnv(t)
	var pages []*banksim.Page
	var browsers []*banksim.Browser
	for i := 0; i < 2; i++ {
		br, p := e.loginPage(t)
		p, err := br.Submit(p.Forms["login"], url.Values{"login_id": {smsLogin}, "password": {password}})
		if err != nil || p.Name != "code" {
			t.Fatalf("password: %v %s %s", err, p.Name, p.Error)
		}
		pages, browsers = append(pages, p), append(browsers, br)
	}
	code, _ := e.smsCode() // the code the second login sent, replacing the first
	if p, _ := browsers[0].Submit(pages[0].Forms["code"], url.Values{"code": {code}}); p.Name != "consent" {
		t.Fatalf("first use: %s %s", p.Name, p.Error)
	}
	if p, _ := browsers[1].Submit(pages[1].Forms["code"], url.Values{"code": {code}}); p.Name != "code" || p.Error != "wrong_code" {
		t.Fatalf("the same SMS code again: %s %s", p.Name, p.Error)
	}
}

// Wrong passwords count per customer across flows: after MaxWrongPasswords the customer is
// locked, and the locked page is the same whether the password given is right or wrong.
func TestPasswordLockoutAcrossFlows(t *testing.T) {
	e := newEnv(t)
	submit := func(pw string) *banksim.Page {
		t.Helper()
		br, p := e.loginPage(t)
		p, err := br.Submit(p.Forms["login"], url.Values{"login_id": {smsLogin}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A right password resets the count.
	for i := 0; i < banksim.MaxWrongPasswords-1; i++ {
		submit("guess")
	}
	if p := submit(password); p.Name != "code" {
		t.Fatalf("right password after %d wrong: %s %s", banksim.MaxWrongPasswords-1, p.Name, p.Error)
	}
	for i := 1; i < banksim.MaxWrongPasswords; i++ {
		if p := submit("guess"); p.Error != "wrong_password" {
			t.Fatalf("wrong password %d: %s %s", i, p.Name, p.Error)
		}
	}
	last := submit("guess")
	if last.Status != http.StatusForbidden || last.Error != "locked" || len(last.Forms) != 0 {
		t.Fatalf("wrong password %d: %d %s %s", banksim.MaxWrongPasswords, last.Status, last.Name, last.Error)
	}
	right, wrong := submit(password), submit("another guess")
	if right.Status != wrong.Status || right.Error != "locked" || right.Body != wrong.Body {
		t.Fatalf("locked: right password %d %s, wrong one %d %s: the answers differ", right.Status, right.Error, wrong.Status, wrong.Error)
	}
	if err := e.sim.Unlock(bankCode, smsLogin); err != nil {
		t.Fatal(err)
	}
	if p := submit(password); p.Name != "code" {
		t.Fatalf("after unlock: %s %s", p.Name, p.Error)
	}
}

// Submitting a form the page does not have is an error, not a panic (a locked page has none).
func TestBrowserSubmitMissingForm(t *testing.T) {
	if p, err := banksim.NewBrowser().Submit(nil, nil); err == nil || p != nil {
		t.Fatalf("Submit(nil): %+v %v", p, err)
	}
}
