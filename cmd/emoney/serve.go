package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"emoney"
	"emoney/alerts"
	emhttp "emoney/http"
	"emoney/identity"
	"emoney/ledger"
	"emoney/money"
	"emoney/webhook"
)

const devBanner = "DEVELOPMENT MODE: embedded store, simulated providers; not for real money"

func cmdServe(ctx context.Context, e env, args []string) error {
	fs := e.flags("serve")
	db := e.dbFlag(fs)
	addr := fs.String("addr", envOr(e, "EMONEY_ADDR", "127.0.0.1:8080"), "address to listen on (env EMONEY_ADDR)")
	tlsCert := fs.String("tls-cert", e.getenv("EMONEY_TLS_CERT"), "TLS certificate file, PEM (env EMONEY_TLS_CERT)")
	tlsKey := fs.String("tls-key", e.getenv("EMONEY_TLS_KEY"), "TLS private key file, PEM (env EMONEY_TLS_KEY)")
	proxies := fs.String("trusted-proxies", e.getenv("EMONEY_TRUSTED_PROXIES"), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (env EMONEY_TRUSTED_PROXIES)")
	logJSON := fs.Bool("log-json", e.getenv("EMONEY_LOG_JSON") == "true", "log JSON lines instead of text (env EMONEY_LOG_JSON=true)")
	drain := fs.Duration("shutdown-timeout", 30*time.Second, "how long SIGINT/SIGTERM waits for requests in flight")
	keyset := e.keysetFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	var trusted []netip.Prefix
	for _, c := range strings.Split(*proxies, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("--trusted-proxies: %q is not a CIDR", c)
		}
		trusted = append(trusted, p)
	}
	var h slog.Handler = slog.NewTextHandler(e.stderr, nil)
	if *logJSON {
		h = slog.NewJSONHandler(e.stderr, nil)
	}
	log := slog.New(h)

	fmt.Fprintln(e.stderr, "emoney:", devBanner)
	svc, err := openService(ctx, *db, *keyset, emhttp.Config{Mode: "development", Banner: devBanner, TrustedProxies: trusted, Logger: log})
	if err != nil {
		return err
	}
	defer svc.Close()
	srv, s := svc.server, svc.store
	if err := srv.Listen(*addr); err != nil {
		return err
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(e.stdout, "emoney: serving on %s://%s (store: %s)\n", scheme, srv.Addr(), s.Kind())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(*tlsCert, *tlsKey) }()
	swept := make(chan struct{})
	go func() { svc.sweep(ctx, 30*time.Second, log); close(swept) }()
	defer func() { <-swept }() // before the ledger and store close
	// Merchants' webhooks, from the outbox; stopped (and waited for) before the store closes,
	// whichever way serve ends.
	wctx, stopWebhooks := context.WithCancel(ctx)
	delivered := make(chan struct{})
	go func() { svc.webhooks.Run(wctx); close(delivered) }()
	defer func() { stopWebhooks(); <-delivered }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", slog.Duration("timeout", *drain))
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Out of time: cut the remaining connections, and let their handlers finish before the
		// ledger and store close under them.
		log.Warn("shutdown timed out: closing the connections still open", slog.Any("err", err))
		srv.Close()
	}
	return <-served
}

func envOr(e env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

// service is everything `emoney serve` runs, wired: store, ledger, identity, HTTP server.
type service struct {
	store    emoney.Store
	ledger   *ledger.Ledger
	identity *identity.Service
	alerts   *alerts.Service
	webhooks *webhook.Service
	server   *emhttp.Server
}

// openService opens the store (migrating it), the keyset, the ledger and the identity service,
// and makes the HTTP server over them. Close undoes it.
func openService(ctx context.Context, db, keyset string, cfg emhttp.Config) (*service, error) {
	s, err := openAndMigrate(ctx, db)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	keys, err := loadKeys(keyset, db, cfg.Logger)
	if err != nil {
		s.Close()
		return nil, err
	}
	if cfg.Metrics == nil {
		cfg.Metrics = emhttp.NewMetrics()
	}
	lcfg := ledgerConfig(s, 0)
	lcfg.Observer = cfg.Metrics
	l := ledger.New(s, lcfg)
	ids, err := identity.New(s, keys, l, identity.Config{})
	if err != nil {
		l.Close()
		s.Close()
		return nil, err
	}
	al := alerts.New(s, l, nil)
	// Outside production (the only mode so far) endpoints may be http://localhost.
	wh := webhook.New(s, keys, webhook.Config{AllowInsecure: cfg.Mode != "production", Logger: cfg.Logger})
	if err := cfg.Metrics.Register(wh.Collectors()...); err != nil {
		l.Close()
		s.Close()
		return nil, err
	}
	srv := emhttp.New(cfg, emhttp.Deps{Store: s, Ledger: l, Identity: ids, Money: money.New(l, ids, 0), Alerts: al, Webhooks: wh})
	return &service{store: s, ledger: l, identity: ids, alerts: al, webhooks: wh, server: srv}, nil
}

// Close stops the ledger, then closes the store. The server must have shut down first.
func (s *service) Close() error {
	return errors.Join(s.ledger.Close(), s.store.Close())
}

// sweep does, every period until ctx ends, the housekeeping that keeps money from waiting
// unseen: authorisations past their expiry are voided, and review holds without an alert get
// one. Several instances may sweep at once: both are idempotent.
func (s *service) sweep(ctx context.Context, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if n, err := s.ledger.ExpirePending(ctx, 1000); err != nil && ctx.Err() == nil {
			log.Error("expiring authorisations", slog.Any("err", err))
		} else if n > 0 {
			log.Info("voided expired authorisations", slog.Int("n", n))
		}
		if n, err := s.alerts.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Error("sweeping holds", slog.Any("err", err))
		} else if n > 0 {
			log.Warn("raised alerts for holds that had none", slog.Int("n", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
