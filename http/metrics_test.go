package http

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"emoney"
	"emoney/ledger"
	"emoney/sqlite"
)

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	l := ledger.New(st, ledger.Config{Observer: m})
	defer l.Close()
	bank, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:1", Kind: emoney.AccountBank})
	w, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "wallet:1", Kind: emoney.AccountWallet})
	if _, err := l.Transfer(ctx, "p", "k1", ledger.Op{From: bank.ID, To: w.ID, Amount: 5, Code: "topup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Transfer(ctx, "p", "k2", ledger.Op{From: w.ID, To: bank.ID, Amount: 6, Code: "withdrawal"}); emoney.ErrorCode(err) != emoney.EInsufficientFunds {
		t.Fatal(err)
	}

	s := New(Config{Metrics: m, Logger: testServer(t, Config{}).log}, Deps{Store: st, Ledger: l})
	for _, path := range []string{"/healthz", "/healthz", "/no/such/thing"} {
		s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	for _, want := range []string{
		`emoney_ledger_requests_total{outcome="committed"} 1`,
		`emoney_ledger_requests_total{outcome="refused"} 1`,
		`emoney_ledger_batch_ops_count 2`,
		`emoney_http_request_duration_seconds_count{route="GET /healthz",status="2xx"} 2`,
		`emoney_http_request_duration_seconds_count{route="/",status="4xx"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(body), "no/such/thing") {
		t.Error("a raw path became a label")
	}
}
