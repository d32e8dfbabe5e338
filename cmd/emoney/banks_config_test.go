package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"emoney/banksim"
	emhttp "emoney/http"
	"emoney/kyc"
)

// writeWalletKey writes a new P-256 key as PKCS #8 PEM (0600) and returns it.
func writeWalletKey(t *testing.T, path string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// A production config naming the in-process simulator's bank 0001 as a real bank: the server
// links through it (discovering it at first use) and tops up through the link. The simulated
// SMS and eKYC providers are test doubles handed to the service, as production refuses them in
// the config.
func TestProductionBankFromConfigLinks(t *testing.T) {
	dir := t.TempDir()
	bs, err := startBanksim("127.0.0.1:0", "test-admin-token", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bs.stop)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // the API's address, for the redirect URI
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	redirect := "http://" + addr + "/api/v1/links/callback"
	key := writeWalletKey(t, filepath.Join(dir, "wallet.pem"))
	if err := os.WriteFile(filepath.Join(dir, "webhook.secret"), []byte("whsec-0001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The bank registers the wallet as its operator would: client_id, public key, redirect URI.
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "prod-1", Algorithm: "ES256", Use: "sig"}}})
	if err := bs.sim.RegisterClient("0001", banksim.Client{ID: "emoney-prod", Name: "emoney", JWKS: jwks, RedirectURIs: []string{redirect}}); err != nil {
		t.Fatal(err)
	}
	conf := writeConfig(t, fmt.Sprintf(`
mode = "production"

[[banks]]
code = "0001"
name = "Sakura City Bank"
issuer = %q
client_id = "emoney-prod"
key_file = %q
key_id = "prod-1"
redirect_uri = %q
webhook_secret_file = %q
notify_url = %q
`, bs.sim.Issuer("0001"), filepath.Join(dir, "wallet.pem"), redirect, filepath.Join(dir, "webhook.secret"), bs.sim.Issuer("0001")+"/partner/notifications"))
	cfg, err := loadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	banks, err := cfg.banks(env{getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if len(banks.banks) != 1 || banks.banks[0].WebhookSecret != "whsec-0001" {
		t.Fatalf("configured banks: %+v", banks.banks)
	}
	svc, err := openService(context.Background(), "sqlite:"+filepath.Join(dir, "emoney.db"), filepath.Join(dir, "keyset.json"),
		emhttp.Config{Mode: "production"}, serviceConfig{config: cfg, sms: &kyc.DevSMS{}, ekyc: &kyc.SimProvider{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.server.Listen(addr); err != nil {
		t.Fatal(err)
	}
	if err := svc.attachConfiguredLinker(banks); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- svc.server.Serve("", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.server.Shutdown(ctx)
		<-served
		svc.Close()
	})
	e := &linkEnv{t: t, svc: svc, sim: bs.sim, api: "http://" + addr + "/api/v1"}

	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, page, _ := e.link(alice, hanako); status != 200 || !strings.Contains(page, "Bank account linked") {
		t.Fatalf("link in production through the configured bank: %d\n%s", status, page)
	}
	ls := e.links(alice)
	if len(ls) != 1 || ls[0].Status != "active" || ls[0].Account != "****567" {
		t.Fatalf("links: %+v", ls)
	}
	gs, err := bs.sim.Grants("0001")
	if err != nil || len(gs) != 1 || gs[0].Client != "emoney-prod" {
		t.Errorf("the bank's grants: %+v %v, want one to emoney-prod", gs, err)
	}
	var op bankOp
	if resp := post(t, e.api+"/topups", alice, "t1", `{"link":"`+ls[0].ID+`","amount":5000}`, &op); resp.StatusCode != 201 || op.Status != "succeeded" {
		t.Errorf("top-up in production through the link: %d %+v", resp.StatusCode, op)
	}
}

// A [[banks]] entry whose key or secret is missing stops serve (and reconcile) at start, naming
// the entry and the setting.
func TestBanksConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	writeWalletKey(t, filepath.Join(dir, "wallet.pem"))
	entryCode := func(code, mode, keyFile, extra string) string {
		return writeConfig(t, fmt.Sprintf(`
mode = %q

[[banks]]
code = %q
name = "Sakura City Bank"
issuer = "https://bank.example/banks/0001"
client_id = "emoney"
key_file = %q
key_id = "k1"
redirect_uri = "https://wallet.example/api/v1/links/callback"
%s`, mode, code, keyFile, extra))
	}
	entry := func(mode, keyFile, extra string) string { return entryCode("0001", mode, keyFile, extra) }
	missingKey := filepath.Join(dir, "nope.pem")
	for _, tc := range []struct {
		name, conf, want string
		args             []string
	}{
		{"missing key, production", entry("production", missingKey, `webhook_secret_env = "WH"`), `banks[0] (code "0001"): key_file: open ` + missingKey, []string{"serve"}},
		{"missing key, development", entry("development", missingKey, ""), "key_file: open " + missingKey, []string{"serve", "--addr", "127.0.0.1:0"}},
		{"missing key, reconcile", entry("development", missingKey, ""), "key_file: open " + missingKey, []string{"reconcile"}},
		{"not a key", entry("development", filepath.Join(dir, "..", filepath.Base(dir), "wallet.pem")+".txt", ""), "key_file", []string{"serve"}},
		{"no secret in production", entry("production", filepath.Join(dir, "wallet.pem"), ""), "webhook secret", []string{"serve"}},
		{"secret env unset", entry("production", filepath.Join(dir, "wallet.pem"), `webhook_secret_env = "EMONEY_TEST_UNSET"`), "EMONEY_TEST_UNSET is not set", []string{"serve"}},
		{"inline secret", entry("production", filepath.Join(dir, "wallet.pem"), `webhook_secret = "s3cret"`), "unknown settings: banks.webhook_secret", []string{"serve"}},
		{"bad code", entryCode("1", "development", filepath.Join(dir, "wallet.pem"), ""), "4-digit", []string{"serve"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "--config", tc.conf, "--db", "sqlite:"+filepath.Join(t.TempDir(), "e.db"))
			_, _, err := cli(t, nil, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error %v, want it to say %q", args, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}
