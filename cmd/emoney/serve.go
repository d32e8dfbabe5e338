package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	emhttp "emoney/http"
	"emoney/identity"
	"emoney/ledger"
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
	s, err := openAndMigrate(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	metrics := emhttp.NewMetrics()
	lcfg := ledgerConfig(s, 0)
	lcfg.Observer = metrics
	l := ledger.New(s, lcfg)
	defer l.Close() // before the store closes: deferred calls run last-in first-out
	keys, err := loadKeys(*keyset, *db, log)
	if err != nil {
		return err
	}
	ids, err := identity.New(s, keys, l, identity.Config{})
	if err != nil {
		return err
	}
	srv := emhttp.New(emhttp.Config{Mode: "development", Banner: devBanner, TrustedProxies: trusted, Logger: log, Metrics: metrics},
		emhttp.Deps{Store: s, Ledger: l, Identity: ids})
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
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", slog.Duration("timeout", *drain))
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-served
}

func envOr(e env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}
