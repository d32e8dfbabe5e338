package identity

// Step-ups bound to one operation (dynamic linking, as PSD2's strong customer authentication
// asks): when the risk engine challenges a payment, the customer proves a second factor for
// that payment only — its type, payee, amount and idempotency key (risk.OperationDigest) — and
// retries it with the proof. The proof is the digest and an expiry sealed (AEAD) to the session:
// any instance holding the keyset can check it, no other session can use it, and a proof for
// one payment says nothing about another amount or payee.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"emoney"
)

// ProofFresh is how long a step-up proof for an operation is good for.
const ProofFresh = 5 * time.Minute

type opProof struct {
	Digest  string `json:"d"`
	Expires int64  `json:"e"` // unix seconds
}

func proofBinding(p Principal) string {
	return "stepup-op:" + base64.RawURLEncoding.EncodeToString(p.Session)
}

// StepUpFor proves the second factor on p's session for the operation digest names, as StepUp
// does (the session counts as stepped up too), and returns the proof to send with the
// operation. Errors: those of StepUp; invalid (digest).
func (s *Service) StepUpFor(ctx context.Context, p Principal, code, digest string) (time.Time, string, error) {
	if len(digest) != 64 {
		return time.Time{}, "", emoney.FieldError("operation", "the operation to step up for is not valid")
	}
	at, err := s.StepUp(ctx, p, code)
	if err != nil {
		return at, "", err
	}
	raw, err := json.Marshal(opProof{Digest: digest, Expires: at.Add(ProofFresh).Unix()})
	if err != nil {
		return at, "", err
	}
	sealed, err := s.keys.Seal(raw, proofBinding(p))
	if err != nil {
		return at, "", err
	}
	return at, base64.RawURLEncoding.EncodeToString(sealed), nil
}

// ProvesOperation reports whether proof, from StepUpFor on p's session, is for the operation
// digest names and still fresh.
func (s *Service) ProvesOperation(p Principal, proof, digest string) bool {
	if proof == "" || len(proof) > 1024 {
		return false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(proof)
	if err != nil {
		return false
	}
	raw, err := s.keys.Open(sealed, proofBinding(p))
	if err != nil {
		return false
	}
	var op opProof
	if json.Unmarshal(raw, &op) != nil {
		return false
	}
	return op.Digest == digest && s.cfg.Now().Unix() < op.Expires
}

// Pseudonym returns a stable, keyed stand-in for a personal value of the given kind (a client
// address, a device name): equal values get equal pseudonyms, and nobody without the keyset can
// tell the value from it. "" stays "".
func (s *Service) Pseudonym(kind, value string) string {
	if value == "" {
		return ""
	}
	h, err := s.keys.Index(kind, value)
	if err != nil || len(h) < 12 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(h[:12])
}
