package main

// Banks by configuration (docs/banks.md "Adding a bank"): the config file's [[banks]] list names
// each standards-compliant bank the wallet links with, and the wallet's client registration
// there. Discovery happens at first use, so a bank that does not answer does not stop a start.
// In development without [[banks]], the in-process simulator's banks are used (links.go), with
// the wallet's key kept beside the keyset (devWalletKey) so that a second process (emoney
// reconcile) speaks as the same client.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"emoney/banklink"
)

// bankConfig is one [[banks]] entry.
type bankConfig struct {
	Code        string `toml:"code"`         // Zengin bank code, 4 digits
	Name        string `toml:"name"`         // shown to customers
	Issuer      string `toml:"issuer"`       // the bank's OAuth issuer (RFC 8414 metadata under it)
	ClientID    string `toml:"client_id"`    // the wallet's client_id at the bank
	KeyFile     string `toml:"key_file"`     // the wallet's ES256 (P-256) private key, PEM
	KeyID       string `toml:"key_id"`       // its kid in the JWKS registered at the bank
	RedirectURI string `toml:"redirect_uri"` // registered exactly at the bank
	// The secret the bank signs its webhooks with and the wallet signs partner notifications
	// with: a file, or an environment variable (never inline).
	WebhookSecretFile string `toml:"webhook_secret_file"`
	WebhookSecretEnv  string `toml:"webhook_secret_env"`
	// NotifyURL is the bank's partner-notification endpoint.
	NotifyURL string `toml:"notify_url"`
}

// bankEndpoint is a configured bank, its secrets loaded.
type bankEndpoint struct {
	bankConfig
	WebhookSecret string
}

// configuredBanks is what [[banks]] makes: the protocol client's configuration (one wallet key
// and redirect URI for every bank), the linker's issuers and names by code, and each bank with
// its secrets.
type configuredBanks struct {
	wallet  banklink.Config
	issuers map[string]string // code → issuer
	names   map[string]string // code → name
	banks   []bankEndpoint
}

var zenginCode = regexp.MustCompile(`^[0-9]{4}$`)

// banks checks [[banks]] and loads the key and secrets it names. Errors name the entry and the
// setting at fault: a key file that cannot be read or is not a P-256 private key, a secret
// neither in a file nor in a set environment variable, banks that disagree on the wallet's key
// or redirect URI.
func (c config) banks(e env) (configuredBanks, error) {
	cb := configuredBanks{wallet: banklink.Config{ClientIDs: map[string]string{}}, issuers: map[string]string{}, names: map[string]string{}}
	for i, b := range c.Banks {
		where := fmt.Sprintf("config: banks[%d] (code %q)", i, b.Code)
		if !zenginCode.MatchString(b.Code) {
			return cb, fmt.Errorf("%s: code must be a 4-digit Zengin bank code", where)
		}
		if _, dup := cb.issuers[b.Code]; dup {
			return cb, fmt.Errorf("%s: bank %s is configured twice", where, b.Code)
		}
		if b.Name == "" || b.ClientID == "" || b.KeyID == "" {
			return cb, fmt.Errorf("%s: name, client_id and key_id are required", where)
		}
		if u, err := url.Parse(b.Issuer); err != nil || !u.IsAbs() || u.RawQuery != "" || u.Fragment != "" {
			return cb, fmt.Errorf("%s: issuer must be the bank's issuer URL", where)
		}
		if _, dup := cb.wallet.ClientIDs[b.Issuer]; dup {
			return cb, fmt.Errorf("%s: issuer %s is configured twice", where, b.Issuer)
		}
		if u, err := url.Parse(b.RedirectURI); err != nil || !u.IsAbs() || u.Fragment != "" {
			return cb, fmt.Errorf("%s: redirect_uri must be an absolute URL (the wallet's /api/v1/links/callback)", where)
		}
		if b.NotifyURL != "" {
			if u, err := url.Parse(b.NotifyURL); err != nil || !u.IsAbs() {
				return cb, fmt.Errorf("%s: notify_url must be an absolute URL", where)
			}
		}
		if b.KeyFile == "" {
			return cb, fmt.Errorf("%s: key_file must name the wallet's signing key (PEM, ES256)", where)
		}
		if i == 0 {
			key, err := readWalletKey(b.KeyFile)
			if err != nil {
				return cb, fmt.Errorf("%s: key_file: %w", where, err)
			}
			cb.wallet.Key, cb.wallet.KeyID, cb.wallet.RedirectURI = key, b.KeyID, b.RedirectURI
		} else if first := c.Banks[0]; b.KeyFile != first.KeyFile || b.KeyID != first.KeyID || b.RedirectURI != first.RedirectURI {
			return cb, fmt.Errorf("%s: key_file, key_id and redirect_uri must be the same for every bank (one wallet client)", where)
		}
		secret, err := b.secret(e, c.production())
		if err != nil {
			return cb, fmt.Errorf("%s: %w", where, err)
		}
		cb.wallet.ClientIDs[b.Issuer] = b.ClientID
		cb.issuers[b.Code], cb.names[b.Code] = b.Issuer, b.Name
		cb.banks = append(cb.banks, bankEndpoint{bankConfig: b, WebhookSecret: secret})
	}
	return cb, nil
}

// secret reads the bank's webhook secret from its file or environment variable. Production
// needs one; development may go without.
func (b bankConfig) secret(e env, production bool) (string, error) {
	switch {
	case b.WebhookSecretFile != "" && b.WebhookSecretEnv != "":
		return "", errors.New("webhook_secret_file and webhook_secret_env: set one, not both")
	case b.WebhookSecretFile != "":
		raw, err := os.ReadFile(b.WebhookSecretFile)
		if err != nil {
			return "", fmt.Errorf("webhook_secret_file: %w", err)
		}
		if s := strings.TrimSpace(string(raw)); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("webhook_secret_file %s is empty", b.WebhookSecretFile)
	case b.WebhookSecretEnv != "":
		if s := e.getenv(b.WebhookSecretEnv); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("webhook_secret_env: %s is not set", b.WebhookSecretEnv)
	case production:
		return "", errors.New("production mode needs the bank's webhook secret: set webhook_secret_file or webhook_secret_env")
	}
	return "", nil
}

// readWalletKey reads an ECDSA P-256 private key from a PEM file (SEC 1 "EC PRIVATE KEY" or
// PKCS #8 "PRIVATE KEY").
func readWalletKey(path string) (*ecdsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	var key any
	switch blk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("%s holds a %q, not an EC private key", path, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k, ok := key.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s is not a P-256 (ES256) private key", path)
	}
	return k, nil
}

// devKeyID is the development wallet key's kid at the simulated banks.
const devKeyID = "dev-1"

// devWalletKeyName is the development wallet key's file, beside the keyset.
const devWalletKeyName = "bank-client-key.pem"

// devWalletKey loads the development wallet's signing key from path, creating it (0600) the
// first time: the in-process simulator's banks know it from every start, and emoney reconcile
// signs with it too.
func devWalletKey(path string) (*ecdsa.PrivateKey, error) {
	if k, err := readWalletKey(path); err == nil {
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process made it meanwhile
			return readWalletKey(path)
		}
		return nil, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// devWalletKeyPath is where development keeps the wallet's key: beside the keyset (see
// keysetPath).
func devWalletKeyPath(keyset, db string) (string, error) {
	p, err := keysetPath(keyset, db)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(p), devWalletKeyName), nil
}

// attachConfiguredLinker wires bank linking to the banks of [[banks]]. Nothing is fetched from
// the banks here: each is discovered at its first use. Each bank's secret verifies its webhooks
// and signs the wallet's notices to its notify_url (a bank without notify_url is told nothing).
func (s *service) attachConfiguredLinker(cb configuredBanks) error {
	w, err := banklink.New(cb.wallet)
	if err != nil {
		return err
	}
	notices, secrets := map[string]banklink.BankNotices{}, map[string]string{}
	for _, b := range cb.banks {
		secrets[b.Code] = b.WebhookSecret
		if b.NotifyURL != "" {
			notices[b.Code] = banklink.BankNotices{URL: b.NotifyURL, ClientID: b.ClientID, Secret: b.WebhookSecret}
		}
	}
	return s.attachLinker(w, cb.issuers, cb.names, notices, secrets)
}

// attachLinker makes the Linker over w for the banks issuers names, with where each bank is
// told of links (notices) and what its webhooks are signed with (secrets), and wires it to the
// API (links, the banks' webhooks) and to top-ups and withdrawals. The mandate asks tier 2's
// per-operation limit per charge and its monthly top-up limit a month.
func (s *service) attachLinker(w *banklink.Wallet, issuers, names map[string]string, notices map[string]banklink.BankNotices, secrets map[string]string) error {
	t2 := s.tiers[2]
	l, err := banklink.NewLinker(s.store, s.keys, w, s.identity, s.kyc, s.policies, banklink.LinkerConfig{
		Issuers: issuers, BankNames: names, PerCharge: t2.PerOperation, Monthly: max(t2.AddMonthly, t2.PerOperation),
		Holders: s.notes, Notices: notices, WebhookSecrets: secrets})
	if err != nil {
		return err
	}
	// The banks' webhooks (mandate_revoked, fraud_report) at POST /api/v1/banks/{code}/webhooks.
	if err := s.server.SetBankWebhooks(l.Webhooks()); err != nil {
		return err
	}
	s.links = l
	s.server.SetLinks(l)
	if s.banks != nil {
		s.banks.SetLinks(l.Connector())
	}
	return nil
}
