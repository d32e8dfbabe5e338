package banklink_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"emoney"
	"emoney/banklink"
	"emoney/banksim"

	"github.com/go-jose/go-jose/v4"
	"github.com/pquerna/otp/totp"
)

const (
	bankCode   = "0001"
	clientID   = "emoney-wallet"
	redirect   = "https://wallet.example/bank/callback"
	smsLogin   = "hanako"
	smsPhone   = "+819012345678"
	smsAccount = "001-1234567"
	totpLogin  = "taro"
	password   = "correct horse battery"
	payee      = "emoney top-up"
)

// env is an in-process bank simulator on an httptest listener, with the wallet registered at
// bank 0001 and two customers: hanako (SMS codes, account smsAccount, ¥50,000) and taro (an
// authenticator app, ¥1,000), and a Wallet configured for the bank.
type env struct {
	t          *testing.T
	sim        *banksim.Sim
	srv        *httptest.Server
	issuer     string
	key        *ecdsa.PrivateKey
	wallet     *banklink.Wallet
	bank       *banklink.Bank
	totpSecret string
	totpAcct   string
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEnv(t *testing.T) *env {
	t.Helper()
	sim := banksim.New(banksim.Config{Banks: []banksim.BankInfo{
		{Code: bankCode, Name: "Sakura City Bank", Kind: "city"}, {Code: "9900", Name: "Post", Kind: "postal"}}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sim.SetBaseURL(srv.URL)
	e := &env{t: t, sim: sim, srv: srv, issuer: sim.Issuer(bankCode), key: newKey(t)}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &e.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	must(t, sim.RegisterClient(bankCode, banksim.Client{ID: clientID, Name: "emoney Wallet", JWKS: jwks, RedirectURIs: []string{redirect}}))
	_, err = sim.AddCustomer(bankCode, banksim.NewCustomer{LoginID: smsLogin, Password: password, NameKanji: "山田花子",
		HolderKana: "ﾔﾏﾀﾞ ﾊﾅｺ", BirthDate: "1990-04-01", Phone: smsPhone})
	must(t, err)
	_, err = sim.AddAccount(bankCode, smsLogin, "001", "1234567", "1234", 50000)
	must(t, err)
	c, err := sim.AddCustomer(bankCode, banksim.NewCustomer{LoginID: totpLogin, Password: password, NameKanji: "鈴木太郎",
		HolderKana: "ｽｽﾞｷ ﾀﾛｳ", BirthDate: "1985-12-24", Phone: "+819087654321", TOTP: true})
	must(t, err)
	e.totpSecret = c.TOTPSecret
	a, err := sim.AddAccount(bankCode, totpLogin, "002", "", "1234", 1000)
	must(t, err)
	e.totpAcct = a.Key()
	e.wallet = e.newWallet(banklink.Config{})
	if e.bank, err = e.wallet.Discover(context.Background(), e.issuer); err != nil {
		t.Fatal(err)
	}
	return e
}

// newWallet is a wallet for the simulator's bank (and any extra issuers in cfg.ClientIDs).
func (e *env) newWallet(cfg banklink.Config) *banklink.Wallet {
	e.t.Helper()
	if cfg.ClientIDs == nil {
		cfg.ClientIDs = map[string]string{}
	}
	cfg.ClientIDs[e.issuer] = clientID
	cfg.Key, cfg.KeyID, cfg.RedirectURI = e.key, "k1", redirect
	w, err := banklink.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// debitRequest asks for the holder and debit scopes: ¥10,000 a charge, ¥30,000 a month.
var debitRequest = banklink.Request{Scope: []string{"holder", "debit"}, Mandate: banklink.Mandate{Payee: payee, PerCharge: 10000, Monthly: 30000}}

// smsSignIn is hanako at the bank's pages, reading her code from the bank's SMS outbox (her phone).
func (e *env) smsSignIn() banksim.SignIn {
	return banksim.SignIn{LoginID: smsLogin, Password: password, Account: smsAccount, Code: func() (string, error) {
		msgs, err := e.sim.OTPs(bankCode, smsPhone)
		if err != nil || len(msgs) == 0 {
			return "", errors.New("no SMS code sent")
		}
		return msgs[len(msgs)-1].Code, nil
	}}
}

// totpSignIn is taro at the bank's pages with his authenticator app.
func (e *env) totpSignIn() banksim.SignIn {
	return banksim.SignIn{LoginID: totpLogin, Password: password, Code: func() (string, error) {
		return totp.GenerateCode(e.totpSecret, time.Now())
	}}
}

// start starts a flow for r.
func (e *env) start(r banklink.Request) *banklink.Flow {
	e.t.Helper()
	f, err := e.wallet.Start(context.Background(), e.bank, r)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// authorize sends a customer's browser to f's authorization URL and returns the callback query.
func (e *env) authorize(f *banklink.Flow, in banksim.SignIn) url.Values {
	e.t.Helper()
	loc, err := banksim.NewBrowser().Authorize(f.AuthorizationURL, in)
	if err != nil {
		e.t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect {
		e.t.Fatalf("the bank sent the customer to %s, not the redirect URI", got)
	}
	return loc.Query()
}

// link runs a whole authorization for r and returns the tokens.
func (e *env) link(r banklink.Request, in banksim.SignIn) banklink.Tokens {
	e.t.Helper()
	f := e.start(r)
	tok, err := e.wallet.Finish(context.Background(), f, e.authorize(f, in))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// balance is the simulator's balance of account.
func (e *env) balance(account string) int64 {
	e.t.Helper()
	st, err := e.sim.AccountStatement(bankCode, account)
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Balance
}

// wantErr fails unless err is of kind and carries code (and reason, when given).
func wantErr(t *testing.T, err error, kind error, code, reason string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want %v", err, kind)
	}
	var e *emoney.Error
	if !errors.As(err, &e) || e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("error %#v, want code %s reason %q", err, code, reason)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
