package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestTOTPStepUpOverHTTP(t *testing.T) {
	base, _ := startServer(t)
	api := base + "/api/v1"
	token, _ := user(t, api, "alice@example.com")

	var e apiError
	if resp := call(t, "POST", api+"/stepup", token, `{"code":"123456"}`, &e); resp.StatusCode != 409 || e.Error.Code != "conflict" {
		t.Errorf("step-up with nothing enrolled: %d %+v", resp.StatusCode, e)
	}
	var enrol struct {
		Secret string `json:"secret"`
		URI    string `json:"uri"`
	}
	if resp := call(t, "POST", api+"/totp", token, "", &enrol); resp.StatusCode != 201 || enrol.Secret == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("enrol: %d %+v", resp.StatusCode, enrol)
	}
	if resp := call(t, "POST", api+"/totp/confirm", token, `{"code":"000000"}`, &e); resp.StatusCode != 401 || e.Error.Code != "unauthorized" {
		t.Errorf("confirm with a wrong code: %d %+v", resp.StatusCode, e)
	}
	now := time.Now()
	code, _ := totp.GenerateCode(enrol.Secret, now)
	if resp := call(t, "POST", api+"/totp/confirm", token, `{"code":"`+code+`"}`, nil); resp.StatusCode != 204 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/totp", token, "", &e); resp.StatusCode != 409 {
		t.Errorf("enrolling over a confirmed factor: %d", resp.StatusCode)
	}
	var me struct {
		User struct {
			TOTP bool `json:"totp"`
		} `json:"user"`
		Fresh bool `json:"step_up_fresh"`
	}
	call(t, "GET", api+"/me", token, "", &me)
	if !me.User.TOTP || me.Fresh {
		t.Errorf("after confirming: %+v", me)
	}
	// The confirming code cannot be replayed for a step-up.
	if resp := call(t, "POST", api+"/stepup", token, `{"code":"`+code+`"}`, &e); resp.StatusCode != 401 {
		t.Errorf("replayed code: %d %+v", resp.StatusCode, e)
	}
	next, _ := totp.GenerateCode(enrol.Secret, now.Add(30*time.Second)) // the next step, within the drift allowed
	var up struct {
		At    string `json:"stepped_up_at"`
		Fresh int    `json:"fresh_for_seconds"`
	}
	if resp := call(t, "POST", api+"/stepup", token, `{"code":"`+next+`"}`, &up); resp.StatusCode != 200 || up.Fresh != 300 {
		t.Fatalf("step-up: %d %+v", resp.StatusCode, up)
	}
	call(t, "GET", api+"/me", token, "", &me)
	if !me.Fresh {
		t.Error("/me does not show the fresh step-up")
	}
}

func TestStaffEnrolmentOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	db := "sqlite:" + path
	if _, _, err := cli(t, nil, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	out, _, err := cli(t, nil, "staff", "create", "--db", db, "--email", "ops@example.com", "--role", "admin")
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(out)
	if _, _, err := cli(t, nil, "staff", "create", "--db", db, "--email", "x@example.com", "--role", "customer"); err == nil {
		t.Error("a staff account with a customer's role was made")
	}
	base, _ := startServerOn(t, path)
	api := base + "/api/v1"

	var e apiError
	// No password works before enrolment: there is none.
	if resp := call(t, "POST", api+"/login", "", `{"email":"ops@example.com","password":"","otp":"000000"}`, &e); resp.StatusCode != 401 {
		t.Errorf("login before enrolment: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/staff/enrol", "", `{"code":"`+code+`","password":"short"}`, &e); resp.StatusCode != 400 || e.Error.Field != "password" {
		t.Errorf("short staff password: %d %+v", resp.StatusCode, e)
	}
	var enrol struct{ Secret, URI string }
	if resp := call(t, "POST", api+"/staff/enrol", "", `{"code":"`+code+`","password":"a long staff passphrase"}`, &enrol); resp.StatusCode != 201 || enrol.Secret == "" {
		t.Fatalf("enrol: %d %+v", resp.StatusCode, enrol)
	}
	if resp := call(t, "POST", api+"/staff/enrol", "", `{"code":"`+code+`","password":"another long passphrase"}`, &e); resp.StatusCode != 401 {
		t.Errorf("enrolment code used twice: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/login", "", `{"email":"ops@example.com","password":"a long staff passphrase"}`, &e); resp.StatusCode != 401 || e.Error.Field != "otp" {
		t.Errorf("staff login without a code: %d %+v", resp.StatusCode, e)
	}
	otp, _ := totp.GenerateCode(enrol.Secret, time.Now())
	var login struct{ Token string }
	if resp := call(t, "POST", api+"/login", "", `{"email":"ops@example.com","password":"a long staff passphrase","otp":"`+otp+`"}`, &login); resp.StatusCode != 200 || login.Token == "" {
		t.Fatalf("staff login: %d", resp.StatusCode)
	}
	var me struct {
		User struct {
			Role string `json:"role"`
			TOTP bool   `json:"totp"`
		} `json:"user"`
		Wallet *struct{} `json:"wallet"`
	}
	if resp := call(t, "GET", api+"/me", login.Token, "", &me); resp.StatusCode != 200 || me.User.Role != "admin" || !me.User.TOTP || me.Wallet != nil {
		t.Errorf("staff /me: %d %+v", resp.StatusCode, me)
	}
	// Staff move no money of their own.
	if resp := post(t, api+"/transfers", login.Token, "k", `{"to":"01M7YWNQEX4CHP0EGY26KFJQV3","amount":1}`, &e); resp.StatusCode != 403 {
		t.Errorf("staff transfer: %d %+v", resp.StatusCode, e)
	}
}

func TestKeysRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	db := "sqlite:" + path
	base, stop, log := startServerLogged(t, path)
	api := base + "/api/v1"
	token, _ := user(t, api, "alice@example.com")
	_, bobWallet := user(t, api, "bob@example.com")
	verifyPhone(t, api, token, log, "+819055556666")
	if resp := call(t, "POST", api+"/kyc/ekyc", token, aliceDoc, nil); resp.StatusCode != 200 {
		t.Fatalf("eKYC: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/payees", token, `{"wallet":"`+bobWallet+`","nickname":"Bob (rent)"}`, nil); resp.StatusCode != 201 {
		t.Fatalf("add payee: %d", resp.StatusCode)
	}
	var enrol struct{ Secret string }
	call(t, "POST", api+"/totp", token, "", &enrol)
	code, _ := totp.GenerateCode(enrol.Secret, time.Now())
	if resp := call(t, "POST", api+"/totp/confirm", token, `{"code":"`+code+`"}`, nil); resp.StatusCode != 204 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "keys", "keyset.json"))
	out, _, err := cli(t, nil, "keys", "rotate", "--db", db)
	if err != nil || !strings.Contains(out, "2 users, 1 verification records, 1 payees, 0 bank links and 0 linking flows resealed") {
		t.Fatalf("keys rotate: %v %s", err, out)
	}
	after, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "keys", "keyset.json"))
	if bytes.Equal(before, after) {
		t.Fatal("the keyset did not change")
	}

	// A server on the new keyset reads everything: the e-mail, the phone and identity, payees'
	// nicknames, and the TOTP secret.
	base, _ = startServerOn(t, path)
	api = base + "/api/v1"
	var login struct{ Token string }
	if resp := call(t, "POST", api+"/login", "", `{"email":"alice@example.com","password":"correct horse battery"}`, &login); resp.StatusCode != 200 {
		t.Fatalf("login after rotation: %d", resp.StatusCode)
	}
	var me struct {
		User struct{ Email string } `json:"user"`
	}
	if resp := call(t, "GET", api+"/me", login.Token, "", &me); resp.StatusCode != 200 || me.User.Email != "alice@example.com" {
		t.Errorf("me after rotation: %d %+v", resp.StatusCode, me)
	}
	var st struct {
		Phone    string `json:"phone"`
		NameKana string `json:"name_kana"`
	}
	if call(t, "GET", api+"/kyc", login.Token, "", &st); st.Phone != "+81******6666" || st.NameKana != "ヤマダ ハナコ" {
		t.Errorf("kyc after rotation: %+v", st)
	}
	var ps struct {
		Items []struct{ Nickname string } `json:"items"`
	}
	if call(t, "GET", api+"/payees", login.Token, "", &ps); len(ps.Items) != 1 || ps.Items[0].Nickname != "Bob (rent)" {
		t.Errorf("payees after rotation: %+v", ps)
	}
	next, _ := totp.GenerateCode(enrol.Secret, time.Now().Add(30*time.Second))
	if resp := call(t, "POST", api+"/stepup", login.Token, `{"code":"`+next+`"}`, nil); resp.StatusCode != 200 {
		t.Errorf("step-up after rotation: %d", resp.StatusCode)
	}
}
