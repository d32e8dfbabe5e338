package kyc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"emoney"
)

func TestNormalPhone(t *testing.T) {
	for in, want := range map[string]string{
		"090-1234-5678":     "+819012345678",
		" 03 1234 5678 ":    "+81312345678",
		"+81 90 1234 5678":  "+819012345678",
		"+1 (415) 555-0100": "+14155550100",
	} {
		if got, err := NormalPhone(in); err != nil || got != want {
			t.Errorf("NormalPhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "12345", "0012345678", "+0123456789", "090-1234-567a", "+81 90 1234 5678 9999 99", "090+12345678"} {
		if _, err := NormalPhone(bad); emoney.ErrorField(err) != "phone" {
			t.Errorf("NormalPhone(%q): %v, want an invalid phone", bad, err)
		}
	}
}

func TestValidDocument(t *testing.T) {
	ok := Document{Type: "drivers_licence", Number: "DL-12345", NameKanji: " 佐藤　一郎 ", NameKana: "サトウ　イチロー", BirthDate: "1975-12-31"}
	d := ok
	if err := validDocument(&d); err != nil || d.NameKanji != "佐藤 一郎" || d.NameKana != "サトウ イチロー" {
		t.Fatalf("valid document: %v %+v", err, d)
	}
	for field, mutate := range map[string]func(*Document){
		"type":       func(d *Document) { d.Type = "" },
		"number":     func(d *Document) { d.Number = "dl 1" },
		"name_kanji": func(d *Document) { d.NameKanji = "\x00" },
		"name_kana":  func(d *Document) { d.NameKana = "さとう" }, // hiragana
		"birth_date": func(d *Document) { d.BirthDate = "1975-13-01" },
	} {
		d := ok
		mutate(&d)
		if err := validDocument(&d); emoney.ErrorField(err) != field {
			t.Errorf("bad %s: %v", field, err)
		}
	}
}

func TestSimProvider(t *testing.T) {
	p := &SimProvider{}
	ctx := context.Background()
	d := Document{Type: "passport", Number: "TK0001", NameKanji: "山田 太郎", NameKana: "ヤマダ タロウ", BirthDate: "1980-01-01"}
	id, err := p.Verify(ctx, d)
	if err != nil || id.NameKana != d.NameKana || id.BirthDate != d.BirthDate || id.Provider != "simulated" {
		t.Fatalf("verify: %+v %v", id, err)
	}
	var rej *Rejected
	p.Reject("TK0001")
	if _, err := p.Verify(ctx, d); !errors.As(err, &rej) {
		t.Errorf("told to reject: %v", err)
	}
	d.Number = "REJECT-2"
	if _, err := p.Verify(ctx, d); !errors.As(err, &rej) {
		t.Errorf("REJECT document: %v", err)
	}
	if p.Checks() != 3 || !p.Simulated() {
		t.Errorf("checks %d", p.Checks())
	}
}

// The HTTP providers speak to their services with the bearer token, and read the answers.
func TestHTTPProviders(t *testing.T) {
	var got struct {
		auth string
		body map[string]any
	}
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.auth = r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&got.body)
		switch r.URL.Path {
		case "/sms":
			w.WriteHeader(http.StatusAccepted)
		case "/verify":
			if got.body["number"] == "BAD1" {
				w.Write([]byte(`{"verified":false,"reason":"face_mismatch"}`))
				return
			}
			w.Write([]byte(`{"verified":true,"identity":{"name_kanji":"山田 太郎","name_kana":"ヤマダ タロウ","birth_date":"1980-01-01","provider":"acme","reference":"r1"}}`))
		default:
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer ts.Close()
	ctx := context.Background()
	sms := &HTTPSMS{URL: ts.URL + "/sms", Token: "s3cret", Client: ts.Client()}
	if err := sms.Send(ctx, "+819012345678", "hello"); err != nil || got.auth != "Bearer s3cret" || got.body["to"] != "+819012345678" || got.body["text"] != "hello" {
		t.Errorf("sms: %v %+v", err, got)
	}
	p := &HTTPProvider{URL: ts.URL + "/verify", Token: "k", Client: ts.Client()}
	id, err := p.Verify(ctx, Document{Number: "GOOD1"})
	if err != nil || id.NameKana != "ヤマダ タロウ" || id.Reference != "r1" {
		t.Errorf("verify: %+v %v", id, err)
	}
	var rej *Rejected
	if _, err := p.Verify(ctx, Document{Number: "BAD1"}); !errors.As(err, &rej) || rej.Reason != "face_mismatch" {
		t.Errorf("rejected: %v", err)
	}
	broken := &HTTPProvider{URL: ts.URL + "/down", Token: "k", Client: ts.Client()}
	if _, err := broken.Verify(ctx, Document{Number: "GOOD1"}); err == nil || errors.As(err, &rej) {
		t.Errorf("a failing provider: %v, want an error that is not a rejection", err)
	}
	if sms.Simulated() || p.Simulated() {
		t.Error("HTTP providers say they are simulated")
	}
}
