// Package kyc raises a wallet's tier: a phone number proved by a one-time code sent through an
// SMS interface gives tier 1, an identity verified by an eKYC provider gives tier 2 (DESIGN.md
// "Wallets and identity"). Personal data is sealed with package pii; the codes and their wrong
// guesses are kept in the database, so no restart or second instance resets them.
package kyc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"emoney"
	"emoney/audit"
	"emoney/identity"
	"emoney/pii"
)

// Tiers.
const (
	TierEmail    = 0 // e-mail and password only
	TierPhone    = 1 // a verified phone
	TierVerified = 2 // an eKYC-verified identity
)

// Rules for one-time codes sent by SMS.
const (
	codeTTL        = 10 * time.Minute
	codeAttempts   = 5                // wrong codes before a code is dead and a new one must be sent
	resendInterval = 30 * time.Second // between two codes to one user
	sendsPerWindow = 5                // codes per user per window
	sendWindow     = 24 * time.Hour
)

// Config tunes the service.
type Config struct {
	Now func() time.Time
}

// Service verifies phones and identities. It is safe for concurrent use.
type Service struct {
	store    emoney.Store
	keys     *pii.Keys
	identity *identity.Service
	sms      SMS
	provider Provider
	now      func() time.Time
	ekycs    *identity.Limiter // eKYC attempts per user: each may cost the operator a fee
	ids      emoney.IDSource
}

// New returns the service.
func New(store emoney.Store, keys *pii.Keys, ids *identity.Service, sms SMS, provider Provider, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: store, keys: keys, identity: ids, sms: sms, provider: provider, now: cfg.Now,
		ekycs: identity.NewLimiter(time.Hour, 5, 100_000), ids: &emoney.Monotonic{Now: cfg.Now}}
}

// NormalPhone returns a phone number in E.164 form: "+8190…" as given, or a Japanese domestic
// number ("090-1234-5678") with its leading 0 replaced by +81. Spaces, hyphens and dots are
// dropped. Errors: invalid naming the field "phone".
func NormalPhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", emoney.FieldError("phone", "a phone number has digits, spaces and hyphens only")
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+"):
	case strings.HasPrefix(n, "0") && !strings.HasPrefix(n, "00"):
		n = "+81" + n[1:]
	default:
		return "", emoney.FieldError("phone", "give the number as +<country><number> or as a Japanese number starting with 0")
	}
	if digits := len(n) - 1; digits < 8 || digits > 15 || n[1] == '0' {
		return "", emoney.FieldError("phone", "a phone number has 8 to 15 digits after the +")
	}
	return n, nil
}

// StartPhone sends a one-time code to the phone p claims, replacing any code sent before. It
// returns when the code expires. Errors: invalid (phone), rate_limited (a code was sent less
// than 30 s ago, or 5 in a day), internal (the SMS could not be sent: nothing was recorded).
func (s *Service) StartPhone(ctx context.Context, p identity.Principal, phone string) (time.Time, error) {
	phone, err := NormalPhone(phone)
	if err != nil {
		return time.Time{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	index, err := s.keys.Index("phone", phone)
	if err != nil {
		return time.Time{}, err
	}
	sealed, err := s.keys.Seal([]byte(phone), "user:"+p.User.String()+":phone")
	if err != nil {
		return time.Time{}, err
	}
	code, err := newCode()
	if err != nil {
		return time.Time{}, err
	}
	hash, err := s.codeHash(p.User, code)
	if err != nil {
		return time.Time{}, err
	}
	ch := emoney.PhoneChallenge{User: p.User, PhoneIndex: index, PhoneSealed: sealed, CodeHash: hash,
		ExpiresAt: now.Add(codeTTL), SentAt: now, Sends: 1, WindowStart: now}
	// Record the code first: a message sent for a code that was never recorded could not be
	// entered, while a code recorded and not delivered is only resent.
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		old, err := tx.LockPhoneChallenge(ctx, p.User)
		switch {
		case emoney.ErrorCode(err) == emoney.ENotFound:
		case err != nil:
			return err
		default:
			if wait := old.SentAt.Add(resendInterval).Sub(now); wait > 0 {
				return &identity.RateLimited{Err: emoney.Errorf(emoney.ERateLimited, "a code was sent moments ago: wait before asking for another"), Wait: wait}
			}
			if now.Sub(old.WindowStart) < sendWindow {
				if old.Sends >= sendsPerWindow {
					return &identity.RateLimited{Err: emoney.Errorf(emoney.ERateLimited, "too many codes sent today"), Wait: old.WindowStart.Add(sendWindow).Sub(now)}
				}
				ch.Sends, ch.WindowStart = old.Sends+1, old.WindowStart
			}
		}
		return tx.SavePhoneChallenge(ctx, ch)
	})
	if err != nil {
		return time.Time{}, err
	}
	msg := fmt.Sprintf("Your emoney code is %s. It expires in %d minutes. Nobody from emoney will ever ask you for it.", code, int(codeTTL.Minutes()))
	if err := s.sms.Send(ctx, phone, msg); err != nil {
		return time.Time{}, fmt.Errorf("kyc: sending the code: %w", err)
	}
	return ch.ExpiresAt, nil
}

// ConfirmPhone checks the code p received. Right, it records the phone as verified and raises p
// to tier 1 (if lower) and returns the new tier. Errors: not_found (no code was sent), conflict
// (the code expired or was guessed wrong too often: ask for a new one; or the number already
// verifies another wallet), unauthorized (wrong code), internal.
func (s *Service) ConfirmPhone(ctx context.Context, p identity.Principal, code string) (int, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	hash, err := s.codeHash(p.User, strings.TrimSpace(code))
	if err != nil {
		return 0, err
	}
	var tier int
	var wrong bool
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		wrong = false
		ch, err := tx.LockPhoneChallenge(ctx, p.User)
		if err != nil {
			return err
		}
		if !now.Before(ch.ExpiresAt) || ch.Attempts >= codeAttempts {
			return emoney.Errorf(emoney.EConflict, "this code is no longer valid: ask for a new one")
		}
		if subtle.ConstantTimeCompare(hash, ch.CodeHash) != 1 {
			wrong = true
			_, err := tx.FailPhoneChallenge(ctx, p.User)
			return err // the count commits; the answer is given below
		}
		u, err := tx.User(ctx, p.User)
		if err != nil {
			return err
		}
		if err := tx.VerifyPhone(ctx, p.User, ch.PhoneIndex, ch.PhoneSealed, now); err != nil {
			return err
		}
		tier = max(u.KYCTier, TierPhone)
		if err := tx.SetKYCTier(ctx, p.User, tier); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: "user:" + p.User.String(), Action: "kyc.phone_verified", Object: p.User.String(),
			Detail: fmt.Appendf(nil, `{"tier":%d}`, tier)})
		return err
	})
	if err != nil {
		return 0, err
	}
	if wrong {
		return 0, &emoney.Error{Code: emoney.EUnauthorized, Field: "code", Message: "wrong code"}
	}
	s.identity.TierChanged(p)
	return tier, nil
}

// VerifyIdentity has the eKYC provider verify d and raises p to tier 2. A verified phone comes
// first. Errors: invalid (a document field), forbidden (no verified phone yet), declined
// (ekyc_rejected: the provider did not accept the document; identity_in_use: this person
// already has a verified wallet), rate_limited, internal (the provider could not be reached).
func (s *Service) VerifyIdentity(ctx context.Context, p identity.Principal, d Document) (int, error) {
	if err := validDocument(&d); err != nil {
		return 0, err
	}
	var k emoney.KYC
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		k, err = tx.KYC(ctx, p.User)
		return err
	})
	if emoney.ErrorCode(err) == emoney.ENotFound || (err == nil && k.PhoneVerifiedAt.IsZero()) {
		return 0, emoney.Errorf(emoney.EForbidden, "verify your phone number first (tier 1), then your identity")
	}
	if err != nil {
		return 0, err
	}
	if err := s.ekycs.Allow(p.User.String(), "identity checks", s.now()); err != nil {
		return 0, err
	}
	id, err := s.provider.Verify(ctx, d)
	var rej *Rejected
	if errors.As(err, &rej) {
		return 0, &emoney.Error{Code: emoney.EDeclined, Reason: "ekyc_rejected", Message: "the identity document could not be verified"}
	}
	if err != nil {
		return 0, fmt.Errorf("kyc: provider: %w", err)
	}
	index, err := s.keys.Index("identity", identityKey(id))
	if err != nil {
		return 0, err
	}
	sealedID, err := json.Marshal(id)
	if err != nil {
		return 0, err
	}
	sealed, err := s.keys.Seal(sealedID, "user:"+p.User.String()+":identity")
	if err != nil {
		return 0, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	errInUse := errors.New("identity in use")
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		others, err := tx.UsersByIdentity(ctx, index)
		if err != nil {
			return err
		}
		for _, o := range others {
			if o != p.User {
				return errInUse
			}
		}
		// The unique index on the identity catches a verification of the same person racing
		// this one in another transaction: conflict.
		if err := tx.VerifyIdentity(ctx, p.User, sealed, index, now); err != nil {
			return err
		}
		if err := tx.SetKYCTier(ctx, p.User, TierVerified); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: "user:" + p.User.String(), Action: "kyc.identity_verified", Object: p.User.String(),
			Detail: fmt.Appendf(nil, `{"tier":2,"provider":%q,"reference":%q}`, id.Provider, id.Reference)})
		return err
	})
	if errors.Is(err, errInUse) || emoney.ErrorCode(err) == emoney.EConflict {
		// One person, one verified wallet: a second wallet on the same identity is how mule
		// wallets are opened with a victim's documents (THREATS.md). Staff look.
		if err := s.identityReuse(ctx, p.User, index, now); err != nil {
			return 0, err
		}
		return 0, &emoney.Error{Code: emoney.EDeclined, Reason: "identity_in_use", Message: "this identity already verifies another wallet; contact support"}
	}
	if err != nil {
		return 0, err
	}
	s.identity.TierChanged(p)
	return TierVerified, nil
}

// identityReuse raises an alert for staff: user tried to verify an identity that verifies
// another wallet.
func (s *Service) identityReuse(ctx context.Context, user emoney.ID, index []byte, now time.Time) error {
	return s.store.Update(ctx, func(tx emoney.Tx) error {
		others, err := tx.UsersByIdentity(ctx, index)
		if err != nil {
			return err
		}
		reason := "eKYC identity already verifies the wallet of"
		for _, o := range others {
			reason += " user:" + o.String()
		}
		return tx.CreateAlert(ctx, emoney.Alert{ID: s.ids.NewID(), Kind: "identity_reuse", Subject: "user:" + user.String(),
			Reason: reason, Status: emoney.AlertOpen, CreatedAt: now})
	})
}

// Status is what a user may see of their own verification.
type Status struct {
	Tier               int       `json:"tier"`
	Phone              string    `json:"phone,omitempty"` // masked: +81******5678
	PhoneVerifiedAt    time.Time `json:"phone_verified_at,omitzero"`
	NameKanji          string    `json:"name_kanji,omitempty"`
	NameKana           string    `json:"name_kana,omitempty"`
	IdentityVerifiedAt time.Time `json:"identity_verified_at,omitzero"`
}

// Status returns p's verification status.
func (s *Service) Status(ctx context.Context, p identity.Principal) (Status, error) {
	var k emoney.KYC
	var u emoney.User
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		if u, err = tx.User(ctx, p.User); err != nil {
			return err
		}
		k, err = tx.KYC(ctx, p.User)
		if emoney.ErrorCode(err) == emoney.ENotFound {
			return nil
		}
		return err
	})
	if err != nil {
		return Status{}, err
	}
	st := Status{Tier: u.KYCTier, PhoneVerifiedAt: k.PhoneVerifiedAt, IdentityVerifiedAt: k.IdentityVerifiedAt}
	if k.PhoneSealed != nil {
		b, err := s.keys.Open(k.PhoneSealed, "user:"+p.User.String()+":phone")
		if err != nil {
			return Status{}, err
		}
		st.Phone = maskPhone(string(b))
	}
	if k.IdentitySealed != nil {
		id, err := s.Identity(k)
		if err != nil {
			return Status{}, err
		}
		st.NameKanji, st.NameKana = id.NameKanji, id.NameKana
	}
	return st, nil
}

// Identity opens the verified identity of a KYC record (the linking issue matches it against a
// bank's account holder).
func (s *Service) Identity(k emoney.KYC) (Identity, error) {
	var id Identity
	b, err := s.keys.Open(k.IdentitySealed, "user:"+k.User.String()+":identity")
	if err != nil {
		return id, err
	}
	return id, json.Unmarshal(b, &id)
}

// Reseal seals every KYC record's personal data again under the keyset's current key (see
// identity.Service.Reseal: the same rules). It returns how many records it resealed.
func Reseal(ctx context.Context, store emoney.Store, keys *pii.Keys) (int, error) {
	n := 0
	err := identity.EachUser(ctx, store, func(u emoney.User) error {
		return store.Update(ctx, func(tx emoney.Tx) error {
			k, err := tx.KYC(ctx, u.ID)
			if emoney.ErrorCode(err) == emoney.ENotFound {
				return nil
			}
			if err != nil {
				return err
			}
			phone, err := keys.Reseal(k.PhoneSealed, "user:"+u.ID.String()+":phone")
			if err != nil {
				return err
			}
			ident, err := keys.Reseal(k.IdentitySealed, "user:"+u.ID.String()+":identity")
			if err != nil {
				return err
			}
			n++
			return tx.ResealKYC(ctx, u.ID, phone, ident)
		})
	})
	return n, err
}

func maskPhone(p string) string {
	if len(p) <= 7 {
		return p
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// newCode returns six random digits.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// codeHash is a keyed hash of a code for one user: six digits are too few to keep as a plain
// hash, which a copy of the database would give up in a second.
func (s *Service) codeHash(user emoney.ID, code string) ([]byte, error) {
	return s.keys.Index("phone-code", user.String()+":"+code)
}

// identityKey is what makes two verified identities the same person: the kana name without
// spaces and the date of birth.
func identityKey(id Identity) string {
	return strings.Join(strings.Fields(id.NameKana), "") + "|" + id.BirthDate
}

var documentTypes = map[string]bool{"my_number_card": true, "drivers_licence": true, "residence_card": true, "passport": true}

// validDocument checks the fields of d, normalising spaces, and names the field at fault.
func validDocument(d *Document) error {
	if !documentTypes[d.Type] {
		return emoney.FieldError("type", "type must be my_number_card, drivers_licence, residence_card or passport")
	}
	if n := len(d.Number); n < 4 || n > 32 || strings.IndexFunc(d.Number, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	}) >= 0 {
		return emoney.FieldError("number", "number must be 4 to 32 of A-Z, 0-9 and '-'")
	}
	d.NameKanji = strings.Join(strings.Fields(d.NameKanji), " ")
	if n := utf8.RuneCountInString(d.NameKanji); n == 0 || n > 50 || strings.IndexFunc(d.NameKanji, unicode.IsControl) >= 0 {
		return emoney.FieldError("name_kanji", "name_kanji must be 1 to 50 characters")
	}
	d.NameKana = strings.Join(strings.Fields(d.NameKana), " ")
	if n := utf8.RuneCountInString(d.NameKana); n == 0 || n > 50 || strings.IndexFunc(d.NameKana, func(r rune) bool {
		return !(r == ' ' || r == 'ー' || r == '・' || unicode.Is(unicode.Katakana, r))
	}) >= 0 {
		return emoney.FieldError("name_kana", "name_kana must be the name's reading in full-width katakana")
	}
	b, err := time.Parse(time.DateOnly, d.BirthDate)
	if err != nil || b.Year() < 1900 || b.After(time.Now()) {
		return emoney.FieldError("birth_date", "birth_date must be a date (YYYY-MM-DD) in the past")
	}
	return nil
}
