package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write and the test to read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startServer runs `emoney serve` on a free port, waits for its URL and returns it with a stop
// function that sends what SIGTERM sends (ctx cancellation) and returns run's error.
func startServer(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "emoney.db")}, args...)
	go func() { done <- run(ctx, args, func(string) string { return "" }, strings.NewReader(""), &out, &errb) }()
	re := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			stopped := false
			stop := func() error {
				if stopped {
					return nil
				}
				stopped = true
				cancel()
				select {
				case err := <-done:
					return err
				case <-time.After(30 * time.Second):
					t.Fatal("serve did not stop")
					return nil
				}
			}
			t.Cleanup(func() { stop() })
			return m[1], stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended before serving: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve printed no URL:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", url, err, body)
	}
	return resp
}

func TestServe(t *testing.T) {
	base, stop := startServer(t)

	var health struct{ Status, Mode, Banner string }
	if resp := getJSON(t, base+"/healthz", &health); resp.StatusCode != 200 || health.Status != "ok" || health.Mode != "development" || !strings.Contains(health.Banner, "DEVELOPMENT") {
		t.Errorf("healthz %d %+v", resp.StatusCode, health)
	}
	var ready struct {
		Status, Store string
		Schema        int
	}
	if resp := getJSON(t, base+"/readyz", &ready); resp.StatusCode != 200 || ready.Store != "sqlite" || ready.Schema < 1 {
		t.Errorf("readyz %d %+v", resp.StatusCode, ready)
	}
	var e struct {
		Error struct {
			Code, Message string
			RequestID     string `json:"request_id"`
		} `json:"error"`
	}
	resp := getJSON(t, base+"/api/v1/nothing-here", &e)
	if resp.StatusCode != 404 || e.Error.Code != "not_found" || e.Error.RequestID == "" || resp.Header.Get("X-Request-Id") != e.Error.RequestID {
		t.Errorf("unknown route: %d %+v (X-Request-Id %q)", resp.StatusCode, e, resp.Header.Get("X-Request-Id"))
	}

	mresp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if mresp.StatusCode != 200 || !strings.Contains(string(metrics), `emoney_http_request_duration_seconds_count{route="GET /healthz",status="2xx"} 1`) {
		t.Errorf("/metrics %d:\n%.2000s", mresp.StatusCode, metrics)
	}

	if err := stop(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still answering after shutdown")
	}
}

func TestServeFlags(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	for _, args := range [][]string{
		{"serve", "--db", db, "--tls-cert", "x.pem"},
		{"serve", "--db", db, "--trusted-proxies", "10.0.0.0/33"},
		{"serve", "--db", db, "--addr", "127.0.0.1:99999"},
		{"serve", "--db", "nosuch:thing"},
	} {
		if _, _, err := cli(t, nil, args...); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}
