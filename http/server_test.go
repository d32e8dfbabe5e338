package http

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"emoney"
)

func testServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(cfg, Deps{})
}

type errJSON struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		Field      string `json:"field"`
		Reason     string `json:"reason"`
		RetryAfter int    `json:"retry_after"`
		RequestID  string `json:"request_id"`
	} `json:"error"`
}

func answer(t *testing.T, s *Server, h handler, req *http.Request) (*http.Response, errJSON) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.observe(s.wrap(h)).ServeHTTP(rec, req)
	resp := rec.Result()
	var e errJSON
	json.Unmarshal(rec.Body.Bytes(), &e)
	return resp, e
}

type waitErr struct{ err *emoney.Error }

func (w waitErr) Error() string          { return w.err.Error() }
func (w waitErr) Unwrap() error          { return w.err }
func (w waitErr) RetryAfterSeconds() int { return 30 }

func TestErrorsPerSpec(t *testing.T) {
	s := testServer(t, Config{})
	for code, status := range statusOf {
		err := &emoney.Error{Code: code, Message: "m", Field: "f", Reason: "r"}
		resp, e := answer(t, s, func(http.ResponseWriter, *http.Request) error { return err }, httptest.NewRequest("GET", "/x", nil))
		if resp.StatusCode != status || e.Error.Code != code || e.Error.RequestID == "" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %+v", code, resp.StatusCode, e)
		}
		if code == emoney.EInternal && (e.Error.Message != "internal error" || e.Error.Reason != "") {
			t.Errorf("internal error shows %+v", e)
		}
	}
	// Unclassified errors and panics are internal, and say nothing of themselves.
	for name, h := range map[string]handler{
		"plain error": func(http.ResponseWriter, *http.Request) error {
			return errors.New("dial tcp 10.0.0.5:5432: SELECT secret")
		},
		"panic": func(http.ResponseWriter, *http.Request) error { panic("nil map in /srv/emoney/secret.go") },
	} {
		resp, e := answer(t, s, h, httptest.NewRequest("GET", "/x", nil))
		if resp.StatusCode != 500 || e.Error.Code != "internal" || strings.Contains(e.Error.Message, "secret") {
			t.Errorf("%s: %d %+v", name, resp.StatusCode, e)
		}
	}
	resp, e := answer(t, s, func(http.ResponseWriter, *http.Request) error {
		return waitErr{emoney.Errorf(emoney.ERateLimited, "too many attempts")}
	}, httptest.NewRequest("POST", "/login", nil))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "30" || e.Error.RetryAfter != 30 {
		t.Errorf("rate_limited: %d %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), e)
	}
	// A client's request id is echoed when it is plain, replaced when not.
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	if _, e := answer(t, s, func(http.ResponseWriter, *http.Request) error { return emoney.Errorf(emoney.ENotFound, "x") }, req); e.Error.RequestID != "abc-123" {
		t.Errorf("request id %q", e.Error.RequestID)
	}
	req.Header.Set("X-Request-Id", "<script>")
	if _, e := answer(t, s, func(http.ResponseWriter, *http.Request) error { return emoney.Errorf(emoney.ENotFound, "x") }, req); e.Error.RequestID == "<script>" || e.Error.RequestID == "" {
		t.Errorf("request id %q", e.Error.RequestID)
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Amount int64  `json:"amount"`
		To     string `json:"to"`
		Note   string `json:"note,omitempty"`
	}
	cases := []struct {
		name, body, code, field string
		limit                   int64
	}{
		{"good", `{"amount": 100, "to": "w1"}`, "", "", 0},
		{"unknown field", `{"amount": 1, "to": "w", "admin": true}`, "invalid", "admin", 0},
		{"wrong type", `{"amount": "100", "to": "w"}`, "invalid", "amount", 0},
		{"overflow", `{"amount": 99999999999999999999, "to": "w"}`, "invalid", "amount", 0},
		{"fraction", `{"amount": 1.5, "to": "w"}`, "invalid", "amount", 0},
		{"malformed", `{"amount": 1,`, "invalid", "", 0},
		{"not an object", `[1,2]`, "invalid", "", 0},
		{"empty", ``, "invalid", "", 0},
		{"two objects", `{"amount": 1, "to": "w"} {"amount": 2}`, "invalid", "", 0},
		{"too large", `{"amount": 1, "to": "` + strings.Repeat("x", 200) + `"}`, "too_large", "", 100},
		{"name in another case", `{"AMOUNT": 1, "to": "w"}`, "invalid", "AMOUNT", 0},
		{"duplicate field", `{"to": "w", "amount": 1, "to": "x"}`, "invalid", "to", 0},
		{"invalid UTF-8", "{\"amount\": 1, \"to\": \"\xff\"}", "invalid", "", 0},
		{"nested value", `{"amount": 1, "to": "w", "note": {"a": [1, {"b": 2}]}}`, "invalid", "note", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/x", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			var b body
			err := decodeJSON(httptest.NewRecorder(), req, &b, tc.limit)
			if got := emoney.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
			if emoney.ErrorField(err) != tc.field {
				t.Errorf("field %q, want %q (%v)", emoney.ErrorField(err), tc.field, err)
			}
		})
	}
	for _, ct := range []string{"application/x-www-form-urlencoded", "", "application/jsonfoo", "text/plain"} {
		req := httptest.NewRequest("POST", "/x", strings.NewReader(`{"amount": 1, "to": "w"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if err := decodeJSON(httptest.NewRecorder(), req, &body{}, 0); emoney.ErrorField(err) != "Content-Type" {
			t.Errorf("Content-Type %q: %v", ct, err)
		}
	}
	req := httptest.NewRequest("POST", "/x", strings.NewReader(`{"amount": 1, "to": "w"}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if err := decodeJSON(httptest.NewRecorder(), req, &body{}, 0); err != nil {
		t.Errorf("application/json with a charset: %v", err)
	}
}

func TestClientIPBehindProxy(t *testing.T) {
	s := testServer(t, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	cases := []struct{ peer, xff, want string }{
		{"203.0.113.9:5000", "", "203.0.113.9"},
		{"203.0.113.9:5000", "1.2.3.4", "203.0.113.9"},            // not from a trusted proxy: the header is a lie
		{"10.1.2.3:443", "198.51.100.7", "198.51.100.7"},          // via our proxy
		{"10.1.2.3:443", "6.6.6.6, 198.51.100.7", "198.51.100.7"}, // the client cannot prepend its own choice
		{"10.1.2.3:443", "198.51.100.7, 10.9.9.9", "198.51.100.7"},
		{"10.1.2.3:443", "garbage, 198.51.100.7", "198.51.100.7"},
		{"10.1.2.3:443", "198.51.100.7:4711", "198.51.100.7"},
		{"10.1.2.3:443", "[2001:db8::7]:4711", "2001:db8::7"},
		{"[::ffff:203.0.113.9]:5000", "", "203.0.113.9"},
	}
	for _, tc := range cases {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.peer
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := s.clientIP(req).String(); got != tc.want {
			t.Errorf("peer %s XFF %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}
