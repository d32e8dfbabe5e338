package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"emoney/banksim"
	emhttp "emoney/http"
)

// bankProxy stands between the wallet and the simulated banks' partner-notification
// endpoints, to play a bank that is down: the next fail requests are answered 503 without
// reaching the bank, the next lose ones reach it and are then answered 503 (the bank recorded
// the notice, the wallet does not know).
type bankProxy struct {
	mu         sync.Mutex
	fail, lose int
	requests   int
}

func (p *bankProxy) set(fail, lose int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail, p.lose = fail, lose
}

func (p *bankProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

func (p *bankProxy) start(t *testing.T, simBase string) string {
	u, err := url.Parse(simBase)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests++
		fail, lose := p.fail > 0, p.fail == 0 && p.lose > 0
		if fail {
			p.fail--
		} else if lose {
			p.lose--
		}
		p.mu.Unlock()
		switch {
		case fail:
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		case lose:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			http.Error(w, "lost", http.StatusServiceUnavailable)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (e *linkEnv) notices(kind string) []banksim.Notice {
	e.t.Helper()
	ns, err := e.sim.Notices("0001")
	if err != nil {
		e.t.Fatal(err)
	}
	var out []banksim.Notice
	for _, n := range ns {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func (e *linkEnv) notifications(token, query string) []emhttp.Notification {
	e.t.Helper()
	var out struct{ Notifications []emhttp.Notification }
	if resp := call(e.t, "GET", e.api+"/notifications"+query, token, "", &out); resp.StatusCode != 200 {
		e.t.Fatalf("list notifications: %d", resp.StatusCode)
	}
	return out.Notifications
}

func (e *linkEnv) deliver(at time.Time) noticeStats {
	e.t.Helper()
	st, err := e.svc.links.DeliverBankNotices(context.Background(), at)
	if err != nil {
		e.t.Fatal(err)
	}
	return noticeStats{st.Delivered, st.Retrying, st.GivenUp}
}

type noticeStats struct{ delivered, retrying, givenUp int }

// The holder and the bank are told about a link, a second wallet's attempt on the account (the
// first wallet's holder too, the second wallet nothing about the first), a holder mismatch and
// an unlink; a bank that answers 5xx is retried until it takes the notice, which it records
// once; one down for a day is given up on with an alert.
func TestLinkNotifications(t *testing.T) {
	proxy := &bankProxy{}
	e := startLinkingWith(t, linkOptions{noticeBase: func(base string) string { return proxy.start(t, base) }})
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, page, _ := e.link(alice, hanako); status != 200 || !strings.Contains(page, "Bank account linked") {
		t.Fatalf("link: %d\n%s", status, page)
	}
	if ns := e.notices("link_created"); len(ns) != 1 || ns[0].Account != "001-1000567" || ns[0].Client != devClientID {
		t.Fatalf("the bank's link_created notices: %+v", ns)
	}
	got := e.notifications(alice, "")
	if len(got) != 1 || got[0].Kind != "link_created" || !strings.Contains(got[0].Text, "****567") || !strings.Contains(got[0].Text, "If this was not you") ||
		strings.Contains(got[0].Text, "1000567") || got[0].ReadAt != "" {
		t.Fatalf("alice's notifications: %+v", got)
	}
	created := got[0].ID

	// A second wallet (whose identity matches the holder too) tries the same account.
	bob, bobID := e.walletUser("bob@example.com", 2, "リョウ シャ", "1980-01-02", true)
	status, page, _ := e.link(bob, hanako)
	if status != 200 || !strings.Contains(page, "linked to another wallet") || strings.Contains(page, "alice") {
		t.Fatalf("second wallet: %d\n%s", status, page)
	}
	if ns := e.notices("link_refused"); len(ns) != 1 || ns[0].Account != "001-1000567" || !strings.Contains(ns[0].Detail, "account_taken") {
		t.Fatalf("the bank's link_refused notices: %+v", ns)
	}
	got = e.notifications(alice, "")
	if len(got) != 2 || got[0].Kind != "link_attempt_refused" || !strings.Contains(got[0].Text, "****567") || strings.Contains(got[0].Text, bobID.String()) || got[1].ID != created {
		t.Fatalf("alice's notifications after bob's attempt (newest first): %+v", got)
	}
	if bn := e.notifications(bob, ""); len(bn) != 0 {
		t.Fatalf("bob learned something: %+v", bn)
	}

	// Read: once, by its owner only; the unread filter.
	var read emhttp.Notification
	var ae apiError
	if resp := call(t, "POST", e.api+"/notifications/"+created+"/read", bob, "", &ae); resp.StatusCode != 404 {
		t.Errorf("bob reading alice's notification: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", e.api+"/notifications/"+created+"/read", alice, "", &read); resp.StatusCode != 200 || read.ReadAt == "" || read.ID != created {
		t.Fatalf("read: %d %+v", resp.StatusCode, read)
	}
	if un := e.notifications(alice, "?unread=true"); len(un) != 1 || un[0].Kind != "link_attempt_refused" {
		t.Errorf("unread: %+v", un)
	}
	if resp := call(t, "GET", e.api+"/notifications?unread=maybe", alice, "", &ae); resp.StatusCode != 400 || ae.Error.Field != "unread" {
		t.Errorf("unread=maybe: %d %+v", resp.StatusCode, ae)
	}

	// A holder mismatch is told to the bank, naming the account.
	victim := e.customer("victim", "ﾀﾅｶ ｲﾁﾛｳ", "1985-03-03", "+819011110002", "2000001")
	mule, _ := e.walletUser("mule@example.com", 3, "スズキ ハナ", "1985-03-03", true)
	if status, page, _ := e.link(mule, victim); status != 200 || !strings.Contains(page, "does not match") {
		t.Fatalf("mismatch: %d\n%s", status, page)
	}
	if ns := e.notices("link_refused"); len(ns) != 2 || ns[1].Account != "001-2000001" || !strings.Contains(ns[1].Detail, "holder_mismatch") {
		t.Fatalf("link_refused after the mismatch: %+v", ns)
	}

	// The bank is down when alice unlinks: the first answer is lost after the bank recorded
	// the notice, the retry is refused with 503, the third goes through and the bank, having
	// the event id already, records nothing more.
	proxy.set(0, 1)
	ls := e.links(alice)
	var gone emhttp.Link
	if resp := call(t, "DELETE", e.api+"/links/"+ls[0].ID, alice, "", &gone); resp.StatusCode != 200 {
		t.Fatalf("unlink: %d", resp.StatusCode)
	}
	proxy.set(1, 0)
	now := time.Now()
	if st := e.deliver(now); st != (noticeStats{}) {
		t.Errorf("a notice was retried before its backoff: %+v", st)
	}
	if st := e.deliver(now.Add(time.Minute)); st != (noticeStats{retrying: 1}) {
		t.Errorf("second attempt (503): %+v", st)
	}
	before := proxy.count()
	if st := e.deliver(now.Add(2 * time.Minute)); st != (noticeStats{delivered: 1}) {
		t.Errorf("third attempt: %+v", st)
	}
	if st := e.deliver(now.Add(time.Hour)); st != (noticeStats{}) || proxy.count() != before+1 {
		t.Errorf("after delivery: %+v, %d requests", st, proxy.count()-before)
	}
	if ns := e.notices("unlinked"); len(ns) != 1 || ns[0].Account != "001-1000567" {
		t.Fatalf("the bank's unlinked notices: %+v", ns)
	}
	if got = e.notifications(alice, "?limit=1"); len(got) != 1 || got[0].Kind != "link_unlinked" || !strings.Contains(got[0].Text, "****567") {
		t.Errorf("alice's newest notification: %+v", got)
	}

	// A bank down for a day: given up on, with an alert; nothing recorded at the bank.
	proxy.set(1000, 0)
	carolBank := e.customer("carol", "ｶﾄｳ ﾕｷ", "1991-04-04", "+819011110009", "5000001")
	carol, _ := e.walletUser("carol@example.com", 9, "カトウ ユキ", "1991-04-04", true)
	if status, page, _ := e.link(carol, carolBank); status != 200 || !strings.Contains(page, "Bank account linked") {
		t.Fatalf("carol: %d\n%s", status, page)
	}
	if st := e.deliver(time.Now().Add(time.Hour)); st != (noticeStats{retrying: 1}) {
		t.Errorf("an hour later: %+v", st)
	}
	if st := e.deliver(time.Now().Add(25 * time.Hour)); st != (noticeStats{givenUp: 1}) {
		t.Errorf("a day later: %+v", st)
	}
	if as := e.alerts("bank_notice_failed"); len(as) != 1 || !strings.Contains(as[0].Reason, "link_created") || strings.Contains(as[0].Reason, "5000001") {
		t.Errorf("alerts: %+v", as)
	}
	if ns := e.notices("link_created"); len(ns) != 1 {
		t.Errorf("link_created notices at the bank: %+v", ns)
	}
}
