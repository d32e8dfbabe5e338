package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"emoney"
	"emoney/alerts"
	"emoney/bank"
	"emoney/banklink"
	"emoney/bankpolicy"
	emhttp "emoney/http"
	"emoney/identity"
	"emoney/kyc"
	"emoney/ledger"
	"emoney/money"
	"emoney/notify"
	"emoney/payees"
	"emoney/pii"
	"emoney/risk"
	"emoney/webhook"
)

const devBanner = "DEVELOPMENT MODE: embedded store, simulated providers; not for real money"

func cmdServe(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(configPath(e, args))
	if err != nil {
		return err
	}
	// [[banks]]: refused now if a key or secret is missing; each bank is reached at first use.
	banks, err := cfg.banks(e)
	if err != nil {
		return err
	}
	fs := e.flags("serve")
	fs.String("config", "", "configuration file, TOML (env EMONEY_CONFIG); see README for its settings")
	db := fs.String("db", first(e.getenv("EMONEY_DB"), cfg.DB, defaultDB), "database: sqlite:PATH or postgres://… (env EMONEY_DB)")
	addr := fs.String("addr", first(e.getenv("EMONEY_ADDR"), cfg.Server.Addr, "127.0.0.1:8080"), "address to listen on (env EMONEY_ADDR)")
	tlsCert := fs.String("tls-cert", first(e.getenv("EMONEY_TLS_CERT"), cfg.Server.TLSCert), "TLS certificate file, PEM (env EMONEY_TLS_CERT)")
	tlsKey := fs.String("tls-key", first(e.getenv("EMONEY_TLS_KEY"), cfg.Server.TLSKey), "TLS private key file, PEM (env EMONEY_TLS_KEY)")
	proxies := fs.String("trusted-proxies", first(e.getenv("EMONEY_TRUSTED_PROXIES"), strings.Join(cfg.Server.TrustedProxies, ",")), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (env EMONEY_TRUSTED_PROXIES)")
	logJSONDefault := cfg.Server.LogJSON
	if v := e.getenv("EMONEY_LOG_JSON"); v != "" {
		logJSONDefault = v == "true"
	}
	logJSON := fs.Bool("log-json", logJSONDefault, "log JSON lines instead of text (env EMONEY_LOG_JSON=true|false)")
	drain := fs.Duration("shutdown-timeout", cfg.Server.ShutdownTimeout, "how long SIGINT/SIGTERM waits for requests in flight")
	keyset := fs.String("keyset", first(e.getenv("EMONEY_KEYSET"), cfg.Keyset), "keyset file for personal data (env EMONEY_KEYSET; default in development: keys/keyset.json beside a SQLite database, generated on first start)")
	rpID := fs.String("webauthn-rp-id", first(e.getenv("EMONEY_WEBAUTHN_RP_ID"), cfg.WebAuthn.RPID, identity.DefaultWebAuthn.RPID), "passkeys: the relying party id, the domain passkeys belong to (env EMONEY_WEBAUTHN_RP_ID)")
	origins := fs.String("webauthn-origins", first(e.getenv("EMONEY_WEBAUTHN_ORIGINS"), strings.Join(cfg.WebAuthn.Origins, ","), strings.Join(identity.DefaultWebAuthn.Origins, ",")), "passkeys: comma-separated origins of the pages that use them, scheme://host[:port] (env EMONEY_WEBAUTHN_ORIGINS)")
	banksimAddr := fs.String("banksim-addr", first(e.getenv("EMONEY_BANKSIM_ADDR"), "127.0.0.1:8081"), "development mode: where the in-process bank simulator listens (\"off\": none) (env EMONEY_BANKSIM_ADDR)")
	banksimSeed := fs.Int("banksim-seed", 3, "development mode: demo customers per simulated bank (logins demo001…, password pass-<bank>-<NNN>; read them with the simulator's admin API)")
	legacyLinking := fs.Bool("legacy-linking", false, "development only: also enable the 2020 PIN linking flow (POST /api/v1/links/legacy) and the bank simulator's legacy endpoint, for the attack simulator's legacy mode")
	approvalAbove := fs.Int64("approval-above", cfg.Staff.ApprovalAbove, "releasing a held amount above this (yen) needs a second staff member (env EMONEY_APPROVAL_ABOVE)")
	if v := e.getenv("EMONEY_APPROVAL_ABOVE"); v != "" {
		if err := fs.Set("approval-above", v); err != nil {
			return fmt.Errorf("EMONEY_APPROVAL_ABOVE: %w", err)
		}
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkLegacyLinking(*legacyLinking, cfg.production(), *banksimAddr); err != nil {
		return err
	}
	if *approvalAbove < 0 {
		return errors.New("--approval-above must not be negative")
	}
	wa, err := webAuthnConfig(*rpID, *origins)
	if err != nil {
		return err
	}
	if cfg.production() {
		// Passkeys bind to the site: development's localhost would make every passkey useless.
		if wa.RPID == "localhost" {
			return errors.New("production mode: set --webauthn-rp-id (or webauthn.rp_id) to the site's domain, not localhost")
		}
		for _, o := range wa.Origins {
			if !strings.HasPrefix(o, "https://") {
				return fmt.Errorf("production mode: passkey origin %s is not https", o)
			}
		}
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

	tracer, stopTracing, err := startTracing(first(e.getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), cfg.Tracing.OTLPEndpoint))
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn("flushing traces", slog.Any("err", err))
		}
	}()
	hcfg := emhttp.Config{Mode: cfg.Mode, TrustedProxies: trusted, Logger: log, Tracer: tracer}
	if cfg.production() {
		if err := keysetMustExist(*keyset); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stderr, "emoney:", devBanner)
		hcfg.Banner = devBanner
		if *legacyLinking {
			hcfg.Banner += "; " + legacyBanner
		}
	}
	sms, provider, err := cfg.providers(e, e.stderr)
	if err != nil {
		return err
	}
	// Holder notifications: no push or e-mail channel is built yet; development writes them to
	// stderr, production keeps them for the API (GET /api/v1/notifications) only.
	var notifier notify.Notifier = &notify.DevSink{}
	if !cfg.production() {
		notifier = &notify.DevSink{W: e.stderr}
	}
	svc, err := openService(ctx, *db, *keyset, hcfg, serviceConfig{config: cfg, sms: sms, ekyc: provider, webAuthn: wa, notifier: notifier})
	if err != nil {
		return err
	}
	defer svc.Close()
	svc.alerts.SetApprovalAbove(*approvalAbove)
	srv, s := svc.server, svc.store
	if err := srv.Listen(*addr); err != nil {
		return err
	}
	if len(banks.banks) > 0 {
		if err := svc.attachConfiguredLinker(banks); err != nil {
			return err
		}
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	// Development runs the bank simulator beside the API (specs/cli.md "Modes"); production never.
	if !cfg.production() && *banksimAddr != "off" {
		if *banksimSeed < 0 || *banksimSeed > 999 {
			return errors.New("--banksim-seed is 0 to 999")
		}
		bs, err := startBanksim(*banksimAddr, e.getenv("EMONEY_BANKSIM_ADMIN_TOKEN"), *banksimSeed, *legacyLinking)
		if err != nil {
			return fmt.Errorf("%w (another instance running? --banksim-addr off runs none)", err)
		}
		defer bs.stop()
		if len(banks.banks) == 0 { // [[banks]] replaces the simulator's banks for linking
			if err := svc.attachDevLinker(bs.sim, srv.Addr()); err != nil {
				return err
			}
		}
		if *legacyLinking {
			if err := svc.attachLegacyLinking(e.stderr); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stdout, "emoney: bank simulator on %s (%d banks, issuers %s/banks/{code}, %d demo customers each; see docs/banksim.md)\n", bs.base, len(bs.sim.Banks()), bs.base, *banksimSeed)
		if bs.generated {
			fmt.Fprintf(e.stderr, "emoney: bank simulator admin token (development): %s\n", bs.token)
		}
	}
	// Said last, once everything it names is up: scripts and tests wait for this line.
	fmt.Fprintf(e.stdout, "emoney: serving on %s://%s (store: %s, mode: %s)\n", scheme, srv.Addr(), s.Kind(), cfg.Mode)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(*tlsCert, *tlsKey) }()
	// The sweeper and merchants' webhooks (from the outbox) are stopped, and waited for, before
	// the ledger and store close, whichever way serve ends.
	bctx, stopBackground := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() { svc.sweep(bctx, 30*time.Second, log); close(swept) }()
	delivered := make(chan struct{})
	go func() { svc.webhooks.Run(bctx); close(delivered) }()
	// Rule changes saved by any instance are in force here within a second.
	watched := make(chan struct{})
	go func() { svc.risk.Watch(bctx, time.Second); close(watched) }()
	defer func() { stopBackground(); <-swept; <-delivered; <-watched }()
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

// first returns the first non-empty value.
func first(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// webAuthnConfig reads --webauthn-rp-id and --webauthn-origins.
func webAuthnConfig(rpID, origins string) (identity.WebAuthnConfig, error) {
	wa := identity.WebAuthnConfig{RPID: strings.TrimSpace(rpID)}
	if wa.RPID == "" || strings.ContainsAny(wa.RPID, ":/ ") {
		return wa, fmt.Errorf("--webauthn-rp-id: %q is not a domain (example.com, or localhost)", rpID)
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return wa, fmt.Errorf("--webauthn-origins: %q is not an origin (https://host[:port])", o)
		}
		wa.Origins = append(wa.Origins, strings.TrimSuffix(o, "/"))
	}
	if len(wa.Origins) == 0 {
		return wa, errors.New("--webauthn-origins: name at least one origin")
	}
	return wa, nil
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
	kyc      *kyc.Service
	sms      kyc.SMS
	banks    *money.BankOps
	risk     *risk.Engine
	sim      *bank.Sim // the simulated banks of development mode
	webhooks *webhook.Service
	server   *emhttp.Server
	// Bank linking (links.go): the keyset, policies and tier limits it needs, and the Linker
	// once attached (development: to the bank simulator).
	keys     *pii.Keys
	policies *bankpolicy.Service
	tiers    money.Tiers
	links    *banklink.Linker
	// Holder notifications (notify.go), and in development the one secret this process shares
	// with every simulated bank (see devBankWebhookSecret), and where bank notices go when a
	// test puts a proxy in front of the simulator ("": the simulator itself).
	notes                *notify.Service
	devBankWebhookSecret string
	devNoticeBase        string
	// walletKeyPath is where development keeps the wallet's key at the simulated banks.
	walletKeyPath string
}

// serviceConfig is what the services take from the config file, and the providers it named.
type serviceConfig struct {
	config
	sms      kyc.SMS
	ekyc     kyc.Provider
	webAuthn identity.WebAuthnConfig // zero: identity's defaults
	notifier notify.Notifier         // nil: a development sink writing nowhere
}

// openService opens the store (migrating it), the keyset, the ledger and the identity service,
// and makes the HTTP server over them. Close undoes it. A zero sc runs development defaults
// with simulated providers that write nowhere.
func openService(ctx context.Context, db, keyset string, cfg emhttp.Config, sc serviceConfig) (*service, error) {
	if sc.Mode == "" {
		sc.config = defaultConfig()
	}
	if sc.sms == nil {
		sc.sms = &kyc.DevSMS{}
	}
	if sc.ekyc == nil {
		sc.ekyc = &kyc.SimProvider{}
	}
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
	icfg := sc.identityConfig()
	icfg.WebAuthn = sc.webAuthn
	ids, err := identity.New(s, keys, l, icfg)
	if err != nil {
		l.Close()
		s.Close()
		return nil, err
	}
	al := alerts.New(s, l, nil)
	tiers := sc.tiers()
	kc := kyc.New(s, keys, ids, sc.sms, sc.ekyc, kyc.Config{})
	mon := money.New(l, ids, money.Config{Tiers: &tiers})
	// The risk engine judges every movement: its rules from the store (seeded with the
	// default rules on the first start), its features rebuilt from its recorded decisions.
	eng := risk.New(risk.Config{Store: s, Log: cfg.Logger})
	if err := eng.Start(ctx); err != nil {
		eng.Close()
		l.Close()
		s.Close()
		return nil, fmt.Errorf("risk engine: %w", err)
	}
	if err := cfg.Metrics.Register(eng.Collectors()...); err != nil {
		eng.Close()
		l.Close()
		s.Close()
		return nil, err
	}
	mon.SetRisk(eng, al)
	// Production has no simulated banks, and no real connector until bank linking: its top-up
	// and withdrawal endpoints answer that no bank is configured.
	var bops *money.BankOps
	var sim *bank.Sim
	// Per-bank policies and kill switches: every instance sees a change within a second.
	pol := bankpolicy.New(s, bankpolicy.Config{})
	// Per-bank circuit breakers: a bank that stops answering is not called until a probe gets
	// an answer; every change of state is logged.
	log := cfg.Logger
	breaker := bank.BreakerConfig{OnChange: func(code string, from, to bank.BreakerState) {
		lvl := slog.LevelInfo
		if to == bank.BreakerOpen {
			lvl = slog.LevelWarn
		}
		log.Log(context.Background(), lvl, "bank circuit breaker", slog.String("bank", code), slog.String("from", string(from)), slog.String("to", string(to)))
	}}
	if !sc.production() {
		var banks *bank.Registry
		if banks, sim, err = devBanks(); err != nil {
			l.Close()
			s.Close()
			return nil, err
		}
		bops = money.NewBankOps(mon, money.BankConfig{Banks: banks, Store: s, Alerts: al, Policies: pol, Breaker: breaker})
	} else if len(sc.Banks) > 0 {
		// Production moves money only through links to the banks of [[banks]] (attached later).
		none, _ := bank.NewRegistry()
		bops = money.NewBankOps(mon, money.BankConfig{Banks: none, Store: s, Alerts: al, Policies: pol, Breaker: breaker})
	}
	if bops != nil {
		if err := cfg.Metrics.Register(bops.Breakers().Collectors()...); err != nil {
			l.Close()
			s.Close()
			return nil, err
		}
	}
	// Outside production, webhook endpoints may be http://localhost.
	wh := webhook.New(s, keys, webhook.Config{AllowInsecure: !sc.production(), Logger: cfg.Logger})
	if err := cfg.Metrics.Register(wh.Collectors()...); err != nil {
		eng.Close()
		l.Close()
		s.Close()
		return nil, err
	}
	srv := emhttp.New(cfg, emhttp.Deps{Store: s, Ledger: l, Identity: ids, Money: mon, Alerts: al, KYC: kc, Banks: bops,
		Payees: payees.New(s, keys, l, ids, nil), Webhooks: wh, BankPolicies: pol})
	notes := notify.New(s, sc.notifier, notify.Config{})
	srv.SetNotifications(notes)
	srv.SetRisk(eng)
	wkp, _ := devWalletKeyPath(keyset, db) // keysetPath succeeded in loadKeys
	return &service{store: s, ledger: l, identity: ids, alerts: al, kyc: kc, sms: sc.sms, banks: bops, sim: sim, webhooks: wh, server: srv,
		keys: keys, policies: pol, tiers: tiers, notes: notes, walletKeyPath: wkp, risk: eng}, nil
}

// Close writes the risk decisions still queued, stops the ledger, then closes the store. The
// server must have shut down first.
func (s *service) Close() error {
	s.risk.Close()
	return errors.Join(s.ledger.Close(), s.store.Close())
}

// sweep does, every period until ctx ends, the housekeeping that keeps money from waiting
// unseen: authorisations past their expiry are voided, review holds without an alert get
// one, and bank operations whose answer was lost are reconciled; and sessions expired or
// revoked more than identity.SessionRetention ago are deleted. Several instances may sweep at
// once: all are idempotent.
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
		s.reconcileBanks(ctx, log)
		s.notifyLinks(ctx, log)
		if n, err := s.identity.PurgeSessions(ctx, identity.SessionRetention); err != nil && ctx.Err() == nil {
			log.Error("purging old sessions", slog.Any("err", err))
		} else if n > 0 {
			log.Info("deleted sessions past their retention", slog.Int("n", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
