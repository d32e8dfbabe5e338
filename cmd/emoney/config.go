package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"emoney/alerts"
	"emoney/identity"
	"emoney/kyc"
	"emoney/money"
)

// config is the --config file (TOML). Flags win over environment variables, which win over the
// file, which wins over the defaults. Secrets are never written in the file: it names the
// environment variables that hold them.
type config struct {
	// Mode is "development" (the default: simulated providers allowed, a banner says so) or
	// "production" (simulated providers refused at start).
	Mode   string `toml:"mode"`
	DB     string `toml:"db"`
	Keyset string `toml:"keyset"`
	Server struct {
		Addr            string        `toml:"addr"`
		TLSCert         string        `toml:"tls_cert"`
		TLSKey          string        `toml:"tls_key"`
		TrustedProxies  []string      `toml:"trusted_proxies"`
		LogJSON         bool          `toml:"log_json"`
		ShutdownTimeout time.Duration `toml:"shutdown_timeout"`
	} `toml:"server"`
	WebAuthn struct {
		RPID    string   `toml:"rp_id"`
		Origins []string `toml:"origins"`
	} `toml:"webauthn"`
	Staff struct {
		// ApprovalAbove: releasing a held amount above this needs a second staff member.
		ApprovalAbove int64 `toml:"approval_above"`
	} `toml:"staff"`
	Tracing struct {
		// OTLPEndpoint is an OpenTelemetry collector's OTLP/HTTP URL; empty: no tracing.
		OTLPEndpoint string `toml:"otlp_endpoint"`
	} `toml:"tracing"`
	SMS      providerConfig `toml:"sms"`
	EKYC     providerConfig `toml:"ekyc"`
	Identity struct {
		Argon2MemoryKiB uint32        `toml:"argon2_memory_kib"`
		Argon2Time      uint32        `toml:"argon2_time"`
		SessionTTL      time.Duration `toml:"session_ttl"`
	} `toml:"identity"`
	Limits struct {
		Tier0 money.Limits `toml:"tier0"`
		Tier1 money.Limits `toml:"tier1"`
		Tier2 money.Limits `toml:"tier2"`
	} `toml:"limits"`
	// Banks are the banks linked with (banks_config.go; docs/banks.md "Adding a bank").
	Banks []bankConfig `toml:"banks"`
}

// providerConfig names an SMS gateway or eKYC provider: "simulated" (development only) or
// "http" with its URL and the environment variable holding its bearer token.
type providerConfig struct {
	Provider string `toml:"provider"`
	URL      string `toml:"url"`
	TokenEnv string `toml:"token_env"`
}

// defaultConfig is what runs with no file: development mode, simulated providers, the default
// limits.
func defaultConfig() config {
	var c config
	c.Mode = "development"
	c.SMS.Provider = "simulated"
	c.EKYC.Provider = "simulated"
	c.Limits.Tier0, c.Limits.Tier1, c.Limits.Tier2 = money.DefaultTiers[0], money.DefaultTiers[1], money.DefaultTiers[2]
	c.Server.ShutdownTimeout = 30 * time.Second
	c.Staff.ApprovalAbove = alerts.DefaultApprovalAbove
	return c
}

// loadConfig reads path over the defaults ("" reads nothing). Unknown keys are errors: a typo
// must not leave a limit at its default unnoticed.
func loadConfig(path string) (config, error) {
	c := defaultConfig()
	if path == "" {
		return c, nil
	}
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("--config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("--config %s: unknown settings: %s", path, strings.Join(keys, ", "))
	}
	return c, c.validate()
}

func (c config) validate() error {
	if c.Mode != "development" && c.Mode != "production" {
		return fmt.Errorf("config: mode must be \"development\" or \"production\", not %q", c.Mode)
	}
	return c.tiers().Validate()
}

func (c config) tiers() money.Tiers {
	return money.Tiers{c.Limits.Tier0, c.Limits.Tier1, c.Limits.Tier2}
}

func (c config) production() bool { return c.Mode == "production" }

// configPath finds --config among args (before the flags are parsed: the file supplies their
// defaults), or EMONEY_CONFIG.
func configPath(e env, args []string) string {
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "config="); ok {
			return v
		}
		if a == "config" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return e.getenv("EMONEY_CONFIG")
}

// providers makes the SMS sender and the eKYC provider the config names. Production refuses
// the simulated ones; development announces them (the DevSMS writes codes to log).
func (c config) providers(e env, log io.Writer) (kyc.SMS, kyc.Provider, error) {
	var sms kyc.SMS
	switch c.SMS.Provider {
	case "simulated":
		sms = &kyc.DevSMS{W: log}
	case "http":
		tok, err := c.SMS.token(e, "sms")
		if err != nil {
			return nil, nil, err
		}
		sms = &kyc.HTTPSMS{URL: c.SMS.URL, Token: tok}
	default:
		return nil, nil, fmt.Errorf("config: sms.provider must be \"simulated\" or \"http\", not %q", c.SMS.Provider)
	}
	var p kyc.Provider
	switch c.EKYC.Provider {
	case "simulated":
		p = &kyc.SimProvider{}
	case "http":
		tok, err := c.EKYC.token(e, "ekyc")
		if err != nil {
			return nil, nil, err
		}
		p = &kyc.HTTPProvider{URL: c.EKYC.URL, Token: tok}
	default:
		return nil, nil, fmt.Errorf("config: ekyc.provider must be \"simulated\" or \"http\", not %q", c.EKYC.Provider)
	}
	if c.production() {
		var sim []string
		if sms.Simulated() {
			sim = append(sim, "sms.provider")
		}
		if p.Simulated() {
			sim = append(sim, "ekyc.provider")
		}
		if len(sim) > 0 {
			return nil, nil, fmt.Errorf("config: mode = \"production\" refuses simulated providers: set %s to a real one", strings.Join(sim, " and "))
		}
	}
	return sms, p, nil
}

func (p providerConfig) token(e env, name string) (string, error) {
	if !strings.HasPrefix(p.URL, "https://") {
		return "", fmt.Errorf("config: %s.url must be an https:// URL", name)
	}
	if p.TokenEnv == "" {
		return "", fmt.Errorf("config: %s.token_env must name the environment variable holding the provider's token", name)
	}
	tok := e.getenv(p.TokenEnv)
	if tok == "" {
		return "", fmt.Errorf("config: %s.token_env: %s is not set", name, p.TokenEnv)
	}
	return tok, nil
}

// identityConfig is the identity service's part of the config.
func (c config) identityConfig() identity.Config {
	cfg := identity.Config{SessionTTL: c.Identity.SessionTTL}
	if c.Identity.Argon2MemoryKiB > 0 || c.Identity.Argon2Time > 0 {
		cfg.Argon2 = identity.DefaultArgon2
		if c.Identity.Argon2MemoryKiB > 0 {
			cfg.Argon2.MemoryKiB = c.Identity.Argon2MemoryKiB
		}
		if c.Identity.Argon2Time > 0 {
			cfg.Argon2.Time = c.Identity.Argon2Time
		}
	}
	return cfg
}

// keysetMustExist is production's rule: a keyset is made by an operator on purpose
// (`emoney keys rotate` keeps it), never generated by a server that could not find its own.
func keysetMustExist(path string) error {
	if path == "" {
		return errors.New("production mode needs --keyset (env EMONEY_KEYSET): personal data keys are never generated in production")
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("production mode: keyset %s: %w", path, err)
	}
	return nil
}
