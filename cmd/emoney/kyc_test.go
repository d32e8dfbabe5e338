package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// smsCode returns the code of the last simulated SMS to phone in the server's log.
func smsCode(t *testing.T, log *syncBuffer, phone string) string {
	t.Helper()
	re := regexp.MustCompile(`\[simulated SMS to ` + regexp.QuoteMeta(phone) + `\] Your emoney code is (\d{6})`)
	m := re.FindAllStringSubmatch(log.String(), -1)
	if len(m) == 0 {
		t.Fatalf("no SMS to %s in the log", phone)
	}
	return m[len(m)-1][1]
}

// verifyPhone takes a user to tier 1 with phone.
func verifyPhone(t *testing.T, api, token string, log *syncBuffer, phone string) {
	t.Helper()
	if resp := call(t, "POST", api+"/kyc/phone", token, `{"phone":"`+phone+`"}`, nil); resp.StatusCode != 202 {
		t.Fatalf("send code to %s: %d", phone, resp.StatusCode)
	}
	var tier struct {
		Tier int `json:"kyc_tier"`
	}
	if resp := call(t, "POST", api+"/kyc/phone/confirm", token, `{"code":"`+smsCode(t, log, phone)+`"}`, &tier); resp.StatusCode != 200 || tier.Tier != 1 {
		t.Fatalf("confirm %s: %d tier %d", phone, resp.StatusCode, tier.Tier)
	}
}

const aliceDoc = `{"type":"my_number_card","number":"AB-1234","name_kanji":"山田  花子","name_kana":"ヤマダ　ハナコ","birth_date":"1990-04-01"}`

func TestKYCTiersOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	base, _, log := startServerLogged(t, path)
	api := base + "/api/v1"
	alice, _ := user(t, api, "alice@example.com")
	bob, _ := user(t, api, "bob@example.com")

	var e apiError
	var st struct {
		Tier      int    `json:"tier"`
		Phone     string `json:"phone"`
		NameKanji string `json:"name_kanji"`
		NameKana  string `json:"name_kana"`
	}
	if resp := call(t, "GET", api+"/kyc", alice, "", &st); resp.StatusCode != 200 || st.Tier != 0 || st.Phone != "" {
		t.Fatalf("kyc of a new user: %d %+v", resp.StatusCode, st)
	}
	// Identity comes after the phone.
	if resp := call(t, "POST", api+"/kyc/ekyc", alice, aliceDoc, &e); resp.StatusCode != 403 || e.Error.Code != "forbidden" {
		t.Errorf("eKYC before the phone: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/kyc/phone", alice, `{"phone":"12ab"}`, &e); resp.StatusCode != 400 || e.Error.Field != "phone" {
		t.Errorf("bad phone: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/kyc/phone/confirm", alice, `{"code":"123456"}`, &e); resp.StatusCode != 404 {
		t.Errorf("confirm with no code sent: %d %+v", resp.StatusCode, e)
	}

	// Phone: a wrong code is refused, the right one gives tier 1 at once.
	if resp := call(t, "POST", api+"/kyc/phone", alice, `{"phone":"090-1234-5678"}`, nil); resp.StatusCode != 202 {
		t.Fatalf("send code: %d", resp.StatusCode)
	}
	code := smsCode(t, log, "+819012345678")
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	if resp := call(t, "POST", api+"/kyc/phone/confirm", alice, `{"code":"`+wrong+`"}`, &e); resp.StatusCode != 401 || e.Error.Field != "code" {
		t.Errorf("wrong code: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/kyc/phone/confirm", alice, `{"code":"`+code+`"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("right code: %d", resp.StatusCode)
	}
	var me struct {
		User struct {
			KYCTier int `json:"kyc_tier"`
		} `json:"user"`
	}
	if call(t, "GET", api+"/me", alice, "", &me); me.User.KYCTier != 1 {
		t.Errorf("tier after the phone: %d", me.User.KYCTier)
	}
	if call(t, "GET", api+"/kyc", alice, "", &st); st.Phone != "+81******5678" {
		t.Errorf("masked phone %q", st.Phone)
	}
	if strings.Contains(log.String(), "alice@example.com") {
		t.Error("the log holds an e-mail address")
	}

	// One phone, one wallet: bob proves he holds the number too, and is refused.
	if resp := call(t, "POST", api+"/kyc/phone", bob, `{"phone":"+81 90 1234 5678"}`, nil); resp.StatusCode != 202 {
		t.Fatalf("bob send code: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/kyc/phone/confirm", bob, `{"code":"`+smsCode(t, log, "+819012345678")+`"}`, &e); resp.StatusCode != 409 || e.Error.Field != "phone" {
		t.Errorf("a phone that verifies another wallet: %d %+v", resp.StatusCode, e)
	}

	// eKYC: bad fields name the field; a rejected document is declined; a good one gives tier 2.
	for field, doc := range map[string]string{
		"name_kana":  `{"type":"passport","number":"TK1234","name_kanji":"山田 花子","name_kana":"山田","birth_date":"1990-04-01"}`,
		"birth_date": `{"type":"passport","number":"TK1234","name_kanji":"山田 花子","name_kana":"ヤマダ ハナコ","birth_date":"2990-04-01"}`,
		"type":       `{"type":"library_card","number":"TK1234","name_kanji":"山田 花子","name_kana":"ヤマダ ハナコ","birth_date":"1990-04-01"}`,
	} {
		if resp := call(t, "POST", api+"/kyc/ekyc", alice, doc, &e); resp.StatusCode != 400 || e.Error.Field != field {
			t.Errorf("bad %s: %d %+v", field, resp.StatusCode, e)
		}
	}
	if resp := call(t, "POST", api+"/kyc/ekyc", alice, strings.Replace(aliceDoc, "AB-1234", "REJECT-1", 1), &e); resp.StatusCode != 403 || e.Error.Code != "declined" || e.Error.Reason != "ekyc_rejected" {
		t.Errorf("rejected document: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/kyc/ekyc", alice, aliceDoc, nil); resp.StatusCode != 200 {
		t.Fatalf("eKYC: %d", resp.StatusCode)
	}
	if call(t, "GET", api+"/kyc", alice, "", &st); st.Tier != 2 || st.NameKanji != "山田 花子" || st.NameKana != "ヤマダ ハナコ" {
		t.Errorf("kyc after eKYC: %+v", st)
	}
	if strings.Contains(log.String(), "ヤマダ") || strings.Contains(log.String(), "1990-04-01") {
		t.Error("the log holds verified personal data")
	}

	// One person, one verified wallet: carol with alice's identity is declined.
	carol, _ := user(t, api, "carol@example.com")
	verifyPhone(t, api, carol, log, "+818011112222")
	if resp := call(t, "POST", api+"/kyc/ekyc", carol, strings.Replace(aliceDoc, "AB-1234", "XY-999", 1), &e); resp.StatusCode != 403 || e.Error.Reason != "identity_in_use" {
		t.Errorf("a second wallet on one identity: %d %+v", resp.StatusCode, e)
	}
	if call(t, "GET", api+"/me", carol, "", &me); me.User.KYCTier != 1 {
		t.Errorf("carol's tier after the refusal: %d", me.User.KYCTier)
	}
}

func TestPhoneCodeGuessesAndResends(t *testing.T) {
	base, _, log := startServerLogged(t, filepath.Join(t.TempDir(), "emoney.db"))
	api := base + "/api/v1"
	alice, _ := user(t, api, "alice@example.com")
	if resp := call(t, "POST", api+"/kyc/phone", alice, `{"phone":"07000000001"}`, nil); resp.StatusCode != 202 {
		t.Fatalf("send: %d", resp.StatusCode)
	}
	var e apiError
	if resp := call(t, "POST", api+"/kyc/phone", alice, `{"phone":"07000000001"}`, &e); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a second code at once: %d %+v", resp.StatusCode, e)
	}
	code := smsCode(t, log, "+817000000001")
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	for i := 0; i < 5; i++ {
		call(t, "POST", api+"/kyc/phone/confirm", alice, `{"code":"`+wrong+`"}`, nil)
	}
	// Five wrong guesses spend the code: even the right one is refused now.
	if resp := call(t, "POST", api+"/kyc/phone/confirm", alice, `{"code":"`+code+`"}`, &e); resp.StatusCode != 409 {
		t.Errorf("the right code after five wrong ones: %d %+v", resp.StatusCode, e)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestTierLimitsOverHTTP(t *testing.T) {
	path, db := migratedDB(t)
	agent := partnerKey(t, db, "Lawson", "agent")
	base, _, log := startServerLogged(t, path)
	api := base + "/api/v1"
	alice, aliceWallet := user(t, api, "alice@example.com")
	bob, bobWallet := user(t, api, "bob@example.com")
	var e apiError
	cashIn := func(key, wallet string, amount int64) int {
		return post(t, api+"/cashins", agent, key, fmt.Sprintf(`{"wallet":%q,"amount":%d}`, wallet, amount), &e).StatusCode
	}

	// Tier 0: ¥10,000 at once, ¥30,000 added a day.
	if got := cashIn("c0", aliceWallet, 10_001); got != 422 || e.Error.Reason != "per_operation" {
		t.Errorf("tier 0 cash-in over the per-operation cap: %d %+v", got, e)
	}
	for i := 1; i <= 3; i++ {
		if got := cashIn(fmt.Sprint("c", i), aliceWallet, 10_000); got != 201 {
			t.Fatalf("cash-in %d: %d %+v", i, got, e)
		}
	}
	if got := cashIn("c4", aliceWallet, 1); got != 422 || e.Error.Reason != "daily" || e.Error.Field != "amount" {
		t.Errorf("tier 0 past the daily limit: %d %+v", got, e)
	}
	var lim struct {
		Tier   int `json:"tier"`
		Limits struct {
			AddDaily int64 `json:"add_daily"`
		} `json:"limits"`
		AddedToday int64 `json:"added_today"`
		Balance    int64 `json:"balance"`
	}
	if call(t, "GET", api+"/limits", alice, "", &lim); lim.Tier != 0 || lim.Limits.AddDaily != 30_000 || lim.AddedToday != 30_000 || lim.Balance != 30_000 {
		t.Errorf("limits: %+v", lim)
	}

	// Bob at tier 0 may hold ¥50,000: alice, verified, cannot push him past it.
	verifyPhone(t, api, alice, log, "+819000000001")
	if resp := call(t, "POST", api+"/kyc/ekyc", alice, aliceDoc, nil); resp.StatusCode != 200 {
		t.Fatalf("eKYC: %d", resp.StatusCode)
	}
	if got := cashIn("c5", aliceWallet, 200_000); got != 201 {
		t.Fatalf("tier 2 cash-in: %d %+v", got, e)
	}
	if resp := post(t, api+"/transfers", alice, "t1", fmt.Sprintf(`{"to":%q,"amount":50001}`, bobWallet), &e); resp.StatusCode != 422 || e.Error.Reason != "max_balance" {
		t.Errorf("transfer past the receiver's balance cap: %d %+v", resp.StatusCode, e)
	}
	// Up to the cap in two (one transfer of ¥50,000 to a wallet opened today would be held for
	// review by the risk engine's young-receiver-big rule).
	for i, amount := range []int{30_000, 20_000} {
		if resp := post(t, api+"/transfers", alice, fmt.Sprintf("t2-%d", i), fmt.Sprintf(`{"to":%q,"amount":%d}`, bobWallet, amount), &e); resp.StatusCode != 201 {
			t.Errorf("transfer up to the cap: %d %+v", resp.StatusCode, e)
		}
	}
	// Bob at tier 0 sends at most ¥30,000 a day.
	if resp := post(t, api+"/transfers", bob, "b1", fmt.Sprintf(`{"to":%q,"amount":10000}`, aliceWallet), &e); resp.StatusCode != 201 {
		t.Fatalf("bob sends: %d %+v", resp.StatusCode, e)
	}
	if resp := post(t, api+"/transfers", bob, "b2", fmt.Sprintf(`{"to":%q,"amount":10000}`, aliceWallet), nil); resp.StatusCode != 201 {
		t.Fatalf("bob sends again: %d", resp.StatusCode)
	}
	if resp := post(t, api+"/transfers", bob, "b3", fmt.Sprintf(`{"to":%q,"amount":10000}`, aliceWallet), nil); resp.StatusCode != 201 {
		t.Fatalf("bob sends a third time: %d", resp.StatusCode)
	}
	if resp := post(t, api+"/transfers", bob, "b4", fmt.Sprintf(`{"to":%q,"amount":1}`, aliceWallet), &e); resp.StatusCode != 422 || e.Error.Reason != "daily" {
		t.Errorf("bob past his daily send limit: %d %+v", resp.StatusCode, e)
	}
	// A retry of a request that went through is answered as before, whatever the limits say now.
	if resp := post(t, api+"/transfers", bob, "b3", fmt.Sprintf(`{"to":%q,"amount":10000}`, aliceWallet), nil); resp.StatusCode != 201 {
		t.Errorf("retry of a sent transfer: %d", resp.StatusCode)
	}
	if out, _, err := cli(t, nil, "ledger", "verify", "--db", db); err != nil {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
}
