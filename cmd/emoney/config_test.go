package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"emoney/pii"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "emoney.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The config file sets the limits; a flag still wins over it.
func TestServeConfigFile(t *testing.T) {
	conf := writeConfig(t, `
[server]
shutdown_timeout = "5s"

[limits.tier0]
per_operation = 5000
send_daily = 12000

[staff]
approval_above = 250000
`)
	base, _ := startServer(t, "--config", conf)
	api := base + "/api/v1"
	alice, _ := user(t, api, "alice@example.com")
	var lim struct {
		Limits struct {
			PerOperation int64 `json:"per_operation"`
			SendDaily    int64 `json:"send_daily"`
			AddDaily     int64 `json:"add_daily"`
		} `json:"limits"`
	}
	call(t, "GET", api+"/limits", alice, "", &lim)
	if lim.Limits.PerOperation != 5000 || lim.Limits.SendDaily != 12000 || lim.Limits.AddDaily != 30_000 {
		t.Errorf("limits from the config file: %+v (unset ones keep their defaults)", lim.Limits)
	}
	var h struct{ Mode, Banner string }
	if getJSON(t, base+"/healthz", &h); h.Mode != "development" || h.Banner == "" {
		t.Errorf("healthz: %+v", h)
	}
}

func TestServeConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	keyset := filepath.Join(dir, "keyset.json")
	if out, _, err := cli(t, nil, "keys", "create", "--keyset", keyset); err != nil || !strings.Contains(out, "keyset written") {
		t.Fatalf("keys create: %v %s", err, out)
	}
	if _, _, err := cli(t, nil, "keys", "create", "--keyset", keyset); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("keys create over an existing keyset: %v", err)
	}
	if _, err := pii.Load(keyset); err != nil {
		t.Fatal(err)
	}
	real := `
mode = "production"
[sms]
provider = "http"
url = "https://sms.example.com/send"
token_env = "SMS_TOKEN"
[ekyc]
provider = "http"
url = "https://ekyc.example.com/verify"
token_env = "EKYC_TOKEN"
[webauthn]
rp_id = "pay.example.com"
origins = ["https://pay.example.com"]
`
	env := map[string]string{"SMS_TOKEN": "t1", "EKYC_TOKEN": "t2"}
	for _, c := range []struct {
		name, conf string
		env        map[string]string
		args       []string
		want       string
	}{
		{"unknown setting", "[limits.tier0]\nper_operaton = 5\n", nil, nil, "unknown settings: limits.tier0.per_operaton"},
		{"bad mode", `mode = "prod"`, nil, nil, `mode must be "development" or "production"`},
		{"simulated providers in production", "mode = \"production\"\n", nil, []string{"--keyset", keyset, "--webauthn-rp-id", "pay.example.com", "--webauthn-origins", "https://pay.example.com"}, "refuses simulated providers: set sms.provider and ekyc.provider"},
		{"no keyset in production", real, env, nil, "production mode needs --keyset"},
		{"missing keyset in production", real, env, []string{"--keyset", filepath.Join(dir, "nope.json")}, "nope.json"},
		{"token not set", real, nil, []string{"--keyset", keyset}, "SMS_TOKEN is not set"},
		{"plain http provider", strings.Replace(real, "https://sms", "http://sms", 1), env, []string{"--keyset", keyset}, "sms.url must be an https:// URL"},
		{"development passkey site in production", real, env, []string{"--keyset", keyset, "--webauthn-rp-id", "localhost"}, "not localhost"},
		{"plain http passkey origin in production", real, env, []string{"--keyset", keyset, "--webauthn-origins", "http://pay.example.com"}, "is not https"},
		{"legacy linking in production", real, env, []string{"--keyset", keyset, "--legacy-linking"}, "refuses --legacy-linking"},
		{"limit over the licence", "[limits.tier1]\nper_operation = 2000000\n", nil, nil, "tier1.per_operation: at most 1000000"},
		{"limits out of order", "[limits.tier2]\nsend_daily = 50000\n", nil, nil, "tier2.send_daily: 50000 is below tier 1's limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "e.db"), "--config", writeConfig(t, c.conf)}, c.args...)
			// A serve that wrongly starts is stopped after a while, and the test fails.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			err := run(ctx, args, func(k string) string { return c.env[k] }, strings.NewReader(""), io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("serve: %v (stderr %s), want an error saying %q", err, stderr.String(), c.want)
			}
		})
	}

	// Production with real providers and a keyset starts, without the development banner or
	// simulated banks.
	args := []string{"--config", writeConfig(t, real), "--keyset", keyset}
	base, _, _, out := startServerWith(t, filepath.Join(dir, "prod.db"), env, args...)
	if strings.Contains(out.String(), "bank simulator") {
		t.Errorf("production started the bank simulator:\n%s", out.String())
	}
	var h struct{ Mode, Banner string }
	if getJSON(t, base+"/healthz", &h); h.Mode != "production" || h.Banner != "" {
		t.Errorf("healthz in production: %+v", h)
	}
	alice, _ := user(t, base+"/api/v1", "alice@example.com")
	var e apiError
	if resp := post(t, base+"/api/v1/topups", alice, "t1", `{"bank":"0001","amount":100}`, &e); resp.StatusCode == 201 {
		t.Errorf("a simulated bank moved money in production: %d %+v", resp.StatusCode, e)
	}
}

// A server that cannot serve (here: TLS files that do not exist) ends with the error, its
// background work stopped, instead of waiting forever for the sweeper.
func TestServeEndsWhenServingFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	missing := filepath.Join(t.TempDir(), "missing.pem")
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "e.db"), "--banksim-addr", "off", "--tls-cert", missing, "--tls-key", missing}
	err := run(ctx, args, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("serve with missing TLS files: %v (context: %v)", err, ctx.Err())
	}
}
