package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"emoney"
	emhttp "emoney/http"
)

// reopen starts a second service on e's database and keyset (as a restart would), linked to
// the same simulator with the wallet key kept beside the keyset, and returns its API's base.
func (e *linkEnv) reopen() (*service, string) {
	t := e.t
	t.Helper()
	dir := filepath.Dir(e.svc.walletKeyPath)
	svc, err := openService(context.Background(), "sqlite:"+filepath.Join(dir, "emoney.db"), filepath.Join(dir, "keyset.json"), emhttp.Config{Mode: "development"}, serviceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.server.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	svc.tiers = e.svc.tiers
	if err := svc.attachDevLinker(e.sim, svc.server.Addr()); err != nil {
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
	return svc, "http://" + svc.server.Addr() + "/api/v1"
}

// keys rotate reseals bank links (account, holder, tokens) and linking flows: after it, a server
// on the new keyset lists the link with its masked account and tops up through it.
func TestKeysRotateResealsLinks(t *testing.T) {
	e := startLinkingMandate(t, 8_000)
	ctx := context.Background()
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, aliceID := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	// A second linking started and not finished: a flow waiting for its callback.
	if resp := call(t, "POST", e.api+"/links", alice, `{"bank":"0001"}`, nil); resp.StatusCode != 201 {
		t.Fatalf("start a second link: %d", resp.StatusCode)
	}
	linkID := e.links(alice)[0].ID
	stored := func() emoney.BankLink {
		t.Helper()
		var l emoney.BankLink
		if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
			ls, err := tx.Links(ctx, aliceID)
			if len(ls) == 1 {
				l = ls[0]
			}
			return err
		}); err != nil || l.ID.IsZero() {
			t.Fatalf("alice's link: %v", err)
		}
		return l
	}
	before := stored()

	dir := filepath.Dir(e.svc.walletKeyPath)
	out, _, err := cli(t, nil, "keys", "rotate", "--db", "sqlite:"+filepath.Join(dir, "emoney.db"), "--keyset", filepath.Join(dir, "keyset.json"))
	if err != nil || !strings.Contains(out, "1 bank links and 1 linking flows resealed") {
		t.Fatalf("keys rotate: %v %s", err, out)
	}
	after := stored()
	if bytes.Equal(before.AccountSealed, after.AccountSealed) || bytes.Equal(before.HolderSealed, after.HolderSealed) || bytes.Equal(before.TokensSealed, after.TokensSealed) {
		t.Error("a sealed part of the link did not change")
	}
	if !bytes.Equal(before.AccountIndex, after.AccountIndex) {
		t.Error("the account index changed: one account, one wallet would no longer hold")
	}

	_, api := e.reopen()
	var out2 struct{ Links []emhttp.Link }
	if resp := call(t, "GET", api+"/links", alice, "", &out2); resp.StatusCode != 200 || len(out2.Links) != 1 ||
		out2.Links[0].ID != linkID || out2.Links[0].Account != "****567" || out2.Links[0].Status != "active" {
		t.Fatalf("links after rotation: %d %+v", resp.StatusCode, out2)
	}
	var op bankOp
	if resp := post(t, api+"/topups", alice, "after-rotate", `{"link":"`+linkID+`","amount":1000}`, &op); resp.StatusCode != 201 || op.Status != "succeeded" {
		t.Errorf("top-up after rotation: %d %+v", resp.StatusCode, op)
	}
}
