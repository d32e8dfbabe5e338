package banklink

// DPoP (RFC 9449) on the wallet side: the per-link key that a bank binds its authorization code
// and tokens to, and the proofs that go with every token and resource request. A stolen access
// or refresh token is useless without this key, so each link has its own and it is stored
// (sealed) beside the tokens.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DPoPKey is the private key a link's code and tokens are bound to (ES256, P-256). It marshals to
// JSON as a private JWK: whoever stores a Flow or Tokens MUST seal that JSON (package pii), as it
// would the tokens themselves. String and GoString show only the thumbprint, so that a logged
// Flow or Tokens never carries the key. Safe for concurrent use (it is never changed).
type DPoPKey struct {
	priv *ecdsa.PrivateKey
	jkt  string
}

// NewDPoPKey makes a fresh key. One per link: a key shared between links would let one leaked
// key serve every token.
func NewDPoPKey() (*DPoPKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return dpopKeyOf(k)
}

func dpopKeyOf(k *ecdsa.PrivateKey) (*DPoPKey, error) {
	if k == nil || k.Curve != elliptic.P256() {
		return nil, errors.New("banklink: a DPoP key is an ECDSA P-256 private key")
	}
	jkt, err := thumbprint(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	return &DPoPKey{priv: k, jkt: jkt}, nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of a public key, base64url (RFC 9449's jkt).
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// Thumbprint is the key's JWK SHA-256 thumbprint (the dpop_jkt and the token's cnf.jkt).
func (k *DPoPKey) Thumbprint() string {
	if k == nil {
		return ""
	}
	return k.jkt
}

// String shows the thumbprint only.
func (k *DPoPKey) String() string { return "DPoPKey(" + k.Thumbprint() + ")" }

// GoString shows the thumbprint only (%#v).
func (k *DPoPKey) GoString() string { return k.String() }

// MarshalJSON writes the key as a private JWK. Seal the result before storing it.
func (k *DPoPKey) MarshalJSON() ([]byte, error) {
	if k == nil || k.priv == nil {
		return []byte("null"), nil
	}
	return jose.JSONWebKey{Key: k.priv, Algorithm: string(jose.ES256), Use: "sig"}.MarshalJSON()
}

// UnmarshalJSON reads a private P-256 JWK written by MarshalJSON.
func (k *DPoPKey) UnmarshalJSON(b []byte) error {
	var j jose.JSONWebKey
	if err := j.UnmarshalJSON(b); err != nil {
		return errors.New("banklink: a DPoP key is a private JWK")
	}
	priv, ok := j.Key.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("banklink: a DPoP key is an ECDSA P-256 private JWK")
	}
	nk, err := dpopKeyOf(priv)
	if err != nil {
		return err
	}
	*k = *nk
	return nil
}

// dpopClaims are a proof's claims (RFC 9449 §4.2). No nonce: the banks emoney supports do not
// ask for server nonces (docs/banks.md).
type dpopClaims struct {
	JTI string `json:"jti"`
	HTM string `json:"htm"`
	HTU string `json:"htu"`
	IAT int64  `json:"iat"`
	ATH string `json:"ath,omitempty"`
}

// proof signs a DPoP proof for one request: method, the target URI without query and fragment
// (htu), a fresh jti, iat now, and when accessToken is set its SHA-256 as ath. The public key
// travels in the jwk header; typ is dpop+jwt.
func (k *DPoPKey) proof(method, target, accessToken string, now time.Time) (string, error) {
	if k == nil || k.priv == nil {
		return "", errors.New("banklink: no DPoP key")
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	c := dpopClaims{JTI: randomString(16), HTM: method, HTU: u.String(), IAT: now.Unix()}
	if accessToken != "" {
		h := sha256.Sum256([]byte(accessToken))
		c.ATH = base64.RawURLEncoding.EncodeToString(h[:])
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// randomString is n random bytes, base64url: state values, jti.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
