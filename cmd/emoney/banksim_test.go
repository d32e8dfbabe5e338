package main

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"emoney/banksim"
)

// runBanksimCmd runs `emoney banksim` on a free port and returns its URL, what it printed, and a
// stop function that does what SIGINT does (cancels ctx) and returns run's error.
func runBanksimCmd(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	url, stop, _, out := startCommand(t, env, append([]string{"banksim", "--addr", "127.0.0.1:0"}, args...)...)
	return url, out, stop
}

func TestBanksimCommand(t *testing.T) {
	url, out, stop := runBanksimCmd(t, nil, "--admin-token", "tok-from-flag", "--seed-customers", "2")
	printed := out.String()
	for _, want := range []string{"0001  Sakura City Bank", "9900  Japan Post Bank", "issuer " + url + "/banks/0116", "seeded 2 customers per bank", "/admin/banks/0001/otp"} {
		if !strings.Contains(printed, want) {
			t.Errorf("output lacks %q:\n%s", want, printed)
		}
	}
	if strings.Contains(printed, "tok-from-flag") {
		t.Error("printed an admin token it was given")
	}
	ctx := context.Background()
	ac := banksim.NewAdminClient(url, "tok-from-flag")
	banks, err := ac.Banks(ctx)
	if err != nil || len(banks) != 20 {
		t.Fatalf("banks: %d %v", len(banks), err)
	}
	cs, err := ac.Customers(ctx, "9900")
	if err != nil || len(cs) != 2 || cs[0].LoginID != "demo001" || cs[0].HolderKana == "" || len(cs[0].Accounts) != 1 {
		t.Fatalf("seeded customers: %+v %v", cs, err)
	}
	st, err := ac.AccountStatement(ctx, "9900", cs[0].Accounts[0])
	if err != nil || st.Balance <= 0 {
		t.Errorf("statement %+v %v", st, err)
	}
	var ae *banksim.AdminError
	if _, err := banksim.NewAdminClient(url, "wrong").Banks(ctx); !errors.As(err, &ae) || ae.Status != 401 {
		t.Errorf("wrong admin token: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("banksim after SIGINT: %v", err)
	}
	if _, err := ac.Banks(ctx); err == nil {
		t.Error("still answering after SIGINT")
	}
}

func TestBanksimTokenFromEnvOrGenerated(t *testing.T) {
	url, _, _ := runBanksimCmd(t, map[string]string{"EMONEY_BANKSIM_ADMIN_TOKEN": "tok-from-env"})
	if _, err := banksim.NewAdminClient(url, "tok-from-env").Banks(context.Background()); err != nil {
		t.Errorf("token from the environment: %v", err)
	}

	url, out, _ := runBanksimCmd(t, nil)
	m := regexp.MustCompile(`admin token \(generated[^)]*\): (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no generated token printed:\n%s", out.String())
	}
	if _, err := banksim.NewAdminClient(url, m[1]).Banks(context.Background()); err != nil {
		t.Errorf("generated token: %v", err)
	}
}

func TestBanksimFlags(t *testing.T) {
	for _, args := range [][]string{
		{"banksim", "--seed-customers", "-1"},
		{"banksim", "--addr", "127.0.0.1:99999"},
		{"banksim", "extra"},
	} {
		if _, _, err := cli(t, nil, args...); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}

// The 2020 legacy endpoint is served only with --legacy.
func TestBanksimLegacyFlag(t *testing.T) {
	status := func(url string) int {
		t.Helper()
		resp, err := http.Post(url+"/banks/0001/legacy/link", "application/json", strings.NewReader(`{"client_id":"nobody"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Output is read after stop, once run has returned and printed everything.
	url, out, stop := runBanksimCmd(t, nil, "--admin-token", "t")
	if got := status(url); got != http.StatusNotFound {
		t.Errorf("legacy endpoint without --legacy: %d, want 404", got)
	}
	if err := stop(); err != nil || strings.Contains(out.String(), "legacy endpoint ON") {
		t.Errorf("without --legacy: %v\n%s", err, out.String())
	}
	url, out, stop = runBanksimCmd(t, nil, "--admin-token", "t", "--legacy")
	if got := status(url); got != http.StatusBadRequest {
		t.Errorf("legacy endpoint with --legacy, malformed request: %d, want 400", got)
	}
	if err := stop(); err != nil || !strings.Contains(out.String(), "legacy endpoint ON") {
		t.Errorf("does not say the legacy endpoint is on: %v\n%s", err, out.String())
	}
}
