// Package http is emoney's HTTP surface: the REST API under /api/v1 and the operational
// endpoints. Handlers return errors; one place (writeError) turns them into the answers
// specs/errors.md defines. The whole route table is in routes.go.
package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"emoney"
	"emoney/alerts"
	"emoney/banklink"
	"emoney/bankpolicy"
	"emoney/identity"
	"emoney/kyc"
	"emoney/ledger"
	"emoney/money"
	"emoney/notify"
	"emoney/payees"
	"emoney/risk"
	"emoney/webhook"
)

// Config is what the server needs to know about where it runs.
type Config struct {
	// Mode is "development" or "production"; development is announced on /healthz.
	Mode string
	// Banner is shown by /healthz in development mode (what is simulated).
	Banner string
	// TrustedProxies are the peers whose X-Forwarded-For is believed (CIDRs). Others' is
	// ignored, so a client cannot pick the IP that rate limits and risk rules see.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	// Metrics are served at /metrics (one is made if nil).
	Metrics *Metrics
	// Tracer, if set, makes an OpenTelemetry span of every request, named by its route.
	Tracer trace.Tracer
}

// Server serves the API. Create it with New, start it with Listen and Serve, stop it with
// Shutdown.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    emoney.Store
	ledger   *ledger.Ledger
	identity *identity.Service
	money    *money.Service
	alerts   *alerts.Service
	kyc      *kyc.Service
	banks    *money.BankOps // nil: no banks configured
	payees   *payees.Service
	webhooks *webhook.Service
	policies *bankpolicy.Service // nil: the bank policy routes answer not_found
	links    *banklink.Linker    // nil: no bank configured for linking (SetLinks)
	legacy   *banklink.Legacy    // nil: the 2020 PIN linking flow is off (SetLegacyLinks)
	notes    *notify.Service     // nil: the notification routes answer not_found (SetNotifications)
	risk     *risk.Engine        // nil: the risk routes answer not_found (SetRisk)
	srv      *http.Server
	ln       net.Listener

	// bankHooks receives the banks' webhooks (SetBankWebhooks); nil: their route answers not_found.
	bankHooks *banklink.WebhookReceiver
}

// Deps are the services the API is a surface of.
type Deps struct {
	Store    emoney.Store
	Ledger   *ledger.Ledger
	Identity *identity.Service
	Money    *money.Service
	Alerts   *alerts.Service
	KYC      *kyc.Service
	Banks    *money.BankOps // top-ups and withdrawals; nil: none
	Payees   *payees.Service
	Webhooks *webhook.Service // merchants' endpoints; nil: the webhook routes answer not_found
	// BankPolicies are the banks' policies and kill switches (staff API); nil: not_found.
	BankPolicies *bankpolicy.Service
}

// New returns a server over deps. Nothing listens until Listen.
func New(cfg Config, deps Deps) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Mode == "" {
		cfg.Mode = "development"
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, store: deps.Store, ledger: deps.Ledger, identity: deps.Identity, money: deps.Money, alerts: deps.Alerts,
		kyc: deps.KYC, banks: deps.Banks, payees: deps.Payees, webhooks: deps.Webhooks}
	s.policies = deps.BankPolicies
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the server's handler, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Listen opens addr ("127.0.0.1:8080"; port 0 picks a free one).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the address Listen opened.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve answers requests until Shutdown; with certFile and keyFile it speaks TLS. It returns nil
// after a Shutdown.
func (s *Server) Serve(certFile, keyFile string) error {
	var err error
	if certFile != "" || keyFile != "" {
		err = s.srv.ServeTLS(s.ln, certFile, keyFile)
	} else {
		err = s.srv.Serve(s.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits, until ctx ends, for the requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close closes every connection at once, without waiting for requests in flight.
func (s *Server) Close() error { return s.srv.Close() }

// handler is an http.HandlerFunc that returns its error instead of writing it.
type handler func(w http.ResponseWriter, r *http.Request) error

// wrap adapts h: a returned error is answered by writeError; a panic is an internal error
// (logged with its request id, never shown).
func (s *Server) wrap(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyClientIP
)

// requestID returns the id of the request ctx belongs to.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// ClientIP returns the client's address as the server determined it: the peer, or, behind a
// trusted proxy, the nearest untrusted address in X-Forwarded-For.
func ClientIP(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(keyClientIP).(netip.Addr)
	return ip
}

// statusWriter remembers the status a handler wrote, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id (a client's X-Request-Id if it is short and plain, else a
// new one), works out the client's IP, and logs the request once it is answered. Logs carry no
// bodies, headers or query strings: those may hold secrets and personal data.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !plainID(id) {
			var b [12]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		ctx = context.WithValue(ctx, keyClientIP, s.clientIP(r))
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(ctx)
		r, endSpan := s.startSpan(r, id)
		next.ServeHTTP(sw, r)
		endSpan(sw.status)
		s.cfg.Metrics.observeHTTP(r.Pattern, sw.status, time.Since(start))
		s.log.InfoContext(ctx, "request", slog.String("request_id", id), slog.String("method", r.Method),
			slog.String("route", r.Pattern), slog.Int("status", sw.status),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000), slog.String("ip", ClientIP(ctx).String()))
	})
}

func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// clientIP is the peer address, unless the peer is a trusted proxy: then X-Forwarded-For is read
// from the right, skipping trusted proxies, and the first other address is the client.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := peer.Addr().Unmap()
	if !s.trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := parseHop(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip // a malformed hop: believe nothing further left
		}
		ip = hop.Unmap()
		if !s.trusted(ip) {
			return ip
		}
	}
	return ip
}

// parseHop reads one X-Forwarded-For entry: an address, or an address with a port.
func parseHop(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), nil
	}
	return netip.ParseAddr(s)
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
