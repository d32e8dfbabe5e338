package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"emoney"
)

// WebAuthnConfig names the relying party passkeys are bound to: the RP ID is the domain a
// passkey belongs to, and an answer is accepted only from one of Origins (what the browser
// says the page was). Both come from the deployment, never from the request.
type WebAuthnConfig struct {
	RPID    string   // default "localhost"
	Origins []string // default http://localhost:8080 and http://127.0.0.1:8080
}

// DefaultWebAuthn is the relying party of a development server on its default address.
var DefaultWebAuthn = WebAuthnConfig{RPID: "localhost", Origins: []string{"http://localhost:8080", "http://127.0.0.1:8080"}}

// ceremonyTTL is how long a begun passkey ceremony may be finished.
const ceremonyTTL = 5 * time.Minute

// maxPasskeys bounds how many passkeys one user keeps.
const maxPasskeys = 20

func newWebAuthn(c WebAuthnConfig) (*webauthn.WebAuthn, error) {
	if c.RPID == "" {
		c.RPID = DefaultWebAuthn.RPID
	}
	if len(c.Origins) == 0 {
		c.Origins = DefaultWebAuthn.Origins
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          c.RPID,
		RPDisplayName: "emoney",
		RPOrigins:     c.Origins,
		// We trust the key, not the make of the authenticator: no attestation asked, none kept.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys (WebAuthn) configuration: %w", err)
	}
	return wa, nil
}

// waUser is a user as go-webauthn sees one. The user handle is our user id: random, and no
// personal data.
type waUser struct {
	id    emoney.ID
	name  string
	creds []webauthn.Credential
}

func (u waUser) WebAuthnID() []byte                         { return u.id.Bytes() }
func (u waUser) WebAuthnName() string                       { return u.name }
func (u waUser) WebAuthnDisplayName() string                { return u.name }
func (u waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func credentialOf(p emoney.Passkey) webauthn.Credential {
	c := webauthn.Credential{ID: p.CredentialID, PublicKey: p.PublicKey,
		Flags:         webauthn.NewCredentialFlags(protocol.AuthenticatorFlags(p.Flags)),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount}}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

// Passkeys returns the user's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, user emoney.ID) ([]emoney.Passkey, error) {
	var ps []emoney.Passkey
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		ps, err = tx.Passkeys(ctx, user)
		return err
	})
	return ps, err
}

// factors reads p's user and passkeys, and refuses with challenge_required, for the action
// named, if the user has a confirmed second factor and the session has not proved one within
// StepUpFresh: a stolen session must not add or remove factors by itself.
func (s *Service) factors(ctx context.Context, p Principal, action string) (emoney.User, []emoney.Passkey, error) {
	u, err := s.User(ctx, p.User)
	if err != nil {
		return emoney.User{}, nil, err
	}
	ps, err := s.Passkeys(ctx, p.User)
	if err != nil {
		return emoney.User{}, nil, err
	}
	if (u.TOTPConfirmed || len(ps) > 0) && !s.Fresh(p) {
		how := "totp"
		if len(ps) > 0 {
			how = "passkey"
		}
		return emoney.User{}, nil, &emoney.Error{Code: emoney.EChallengeRequired, Reason: how,
			Message: action + " needs a fresh step-up: POST /api/v1/stepup with a one-time code, or /api/v1/stepup/passkey/begin and /finish with a passkey, then retry"}
	}
	return u, ps, nil
}

// BeginPasskeyRegistration starts adding a passkey to p's user: it returns the options for the
// browser's navigator.credentials.create, and keeps the challenge for this session for
// ceremonyTTL. Errors: challenge_required (a second factor exists and the step-up is not
// fresh), conflict (too many passkeys), internal.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p Principal) (*protocol.CredentialCreation, error) {
	u, ps, err := s.factors(ctx, p, "adding a passkey")
	if err != nil {
		return nil, err
	}
	if len(ps) >= maxPasskeys {
		return nil, emoney.Errorf(emoney.EConflict, "you have %d passkeys, the most one account keeps: remove one first", maxPasskeys)
	}
	email, err := s.Email(u)
	if err != nil {
		return nil, err
	}
	user := waUser{id: u.ID, name: email}
	for _, pk := range ps {
		user.creds = append(user.creds, credentialOf(pk))
	}
	// Excluding the ones registered already stops an authenticator registering twice.
	creation, session, err := s.webauthn.BeginRegistration(user, webauthn.WithExclusions(webauthn.Credentials(user.creds).CredentialDescriptors()))
	if err != nil {
		return nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	if err := s.saveCeremony(ctx, p, emoney.CeremonyRegister, session); err != nil {
		return nil, err
	}
	return creation, nil
}

// FinishPasskeyRegistration checks the browser's answer (the attestation, as
// PublicKeyCredential JSON) to the session's registration ceremony and keeps the new passkey
// under name. Errors: invalid (name; credential malformed or not verified: wrong origin, RP or
// challenge), challenge_required (as for Begin), conflict (no registration begun on this
// session, or it expired; the passkey is registered already; too many passkeys), internal.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p Principal, name string, credential []byte) (emoney.Passkey, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 || strings.ContainsFunc(name, unicode.IsControl) {
		return emoney.Passkey{}, emoney.FieldError("name", "name the passkey: 1 to 64 characters of text (\"work laptop\")")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return emoney.Passkey{}, emoney.FieldError("credential", "credential is not a registration answer (PublicKeyCredential JSON from navigator.credentials.create): %s", details(err))
	}
	u, ps, err := s.factors(ctx, p, "adding a passkey")
	if err != nil {
		return emoney.Passkey{}, err
	}
	session, err := s.takeCeremony(ctx, p, emoney.CeremonyRegister)
	if err != nil {
		return emoney.Passkey{}, err
	}
	user := waUser{id: u.ID}
	for _, pk := range ps {
		user.creds = append(user.creds, credentialOf(pk))
	}
	cred, err := s.webauthn.CreateCredential(user, session, parsed)
	if err != nil {
		return emoney.Passkey{}, &emoney.Error{Code: emoney.EInvalid, Field: "credential", Message: "the passkey's answer did not verify: " + details(err), Err: err}
	}
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	pk := emoney.Passkey{ID: s.cfg.IDs.NewID(), User: u.ID, CredentialID: cred.ID, PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount,
		AAGUID: cred.Authenticator.AAGUID, Flags: uint8(cred.Flags.ProtocolValue()), Name: name, CreatedAt: now}
	for _, t := range cred.Transport {
		pk.Transports = append(pk.Transports, string(t))
	}
	var full bool
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		have, err := tx.Passkeys(ctx, u.ID)
		if err != nil {
			return err
		}
		if full = len(have) >= maxPasskeys; full {
			return emoney.Errorf(emoney.EConflict, "you have %d passkeys, the most one account keeps: remove one first", maxPasskeys)
		}
		return tx.CreatePasskey(ctx, pk)
	})
	if emoney.ErrorCode(err) == emoney.EConflict && !full { // its credential id is taken
		return emoney.Passkey{}, emoney.Errorf(emoney.EConflict, "this passkey is registered already")
	}
	return pk, err
}

// DeletePasskey removes one of p's user's passkeys. Errors: challenge_required (the step-up is
// not fresh), not_found (no such passkey of theirs), internal.
func (s *Service) DeletePasskey(ctx context.Context, p Principal, id emoney.ID) error {
	if _, _, err := s.factors(ctx, p, "removing a passkey"); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.DeletePasskey(ctx, p.User, id) })
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return emoney.Errorf(emoney.ENotFound, "no such passkey")
	}
	return err
}

// BeginPasskeyStepUp starts a step-up with one of p's user's passkeys: it returns the options for
// navigator.credentials.get (allowCredentials: the user's passkeys) and keeps the challenge for
// this session for ceremonyTTL. Errors: conflict (no passkey registered), internal.
func (s *Service) BeginPasskeyStepUp(ctx context.Context, p Principal) (*protocol.CredentialAssertion, error) {
	ps, err := s.Passkeys(ctx, p.User)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, emoney.Errorf(emoney.EConflict, "no passkey is registered: POST /api/v1/passkeys/register/begin first")
	}
	user := waUser{id: p.User}
	for _, pk := range ps {
		user.creds = append(user.creds, credentialOf(pk))
	}
	assertion, session, err := s.webauthn.BeginLogin(user)
	if err != nil {
		return nil, fmt.Errorf("begin passkey step-up: %w", err)
	}
	if err := s.saveCeremony(ctx, p, emoney.CeremonyStepUp, session); err != nil {
		return nil, err
	}
	return assertion, nil
}

// PasskeyStepUp checks the browser's answer (the assertion, as PublicKeyCredential JSON) to the
// session's step-up ceremony and, if it verifies, marks the session stepped up as a TOTP code
// does. Attempts count against the same per-user limit as one-time codes. A signature counter
// that did not go forward refuses the step-up and raises an alert: the key may have been copied.
// Errors: invalid (credential malformed), conflict (no step-up begun on this session, or it
// expired), unauthorized (did not verify: another's passkey, wrong origin or challenge, a
// replay, a bad signature, a counter gone backwards), rate_limited, internal.
func (s *Service) PasskeyStepUp(ctx context.Context, p Principal, credential []byte) (time.Time, error) {
	now := s.cfg.Now()
	if ok, wait := s.perAccount.allow(stepUpLimitKey(p.User), now); !ok {
		return time.Time{}, &RateLimited{emoney.Errorf(emoney.ERateLimited, "too many step-up attempts"), wait}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return time.Time{}, emoney.FieldError("credential", "credential is not a step-up answer (PublicKeyCredential JSON from navigator.credentials.get): %s", details(err))
	}
	session, err := s.takeCeremony(ctx, p, emoney.CeremonyStepUp)
	if err != nil {
		return time.Time{}, err
	}
	ps, err := s.Passkeys(ctx, p.User)
	if err != nil {
		return time.Time{}, err
	}
	user := waUser{id: p.User}
	for _, pk := range ps {
		user.creds = append(user.creds, credentialOf(pk))
	}
	refused := func(why string, cause error) error {
		return &emoney.Error{Code: emoney.EUnauthorized, Message: "the passkey did not verify: " + why, Err: cause}
	}
	cred, err := s.webauthn.ValidateLogin(user, session, parsed)
	if err != nil {
		return time.Time{}, refused(details(err), err)
	}
	var used emoney.Passkey
	for _, pk := range ps {
		if string(pk.CredentialID) == string(cred.ID) {
			used = pk
		}
	}
	if used.ID.IsZero() {
		return time.Time{}, refused("not one of your passkeys", nil)
	}
	at := now.UTC().Truncate(time.Microsecond)
	counter := parsed.Response.AuthenticatorData.Counter
	var cloned bool
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		ok, err := tx.UpdatePasskeySignCount(ctx, used.ID, counter, at)
		if err != nil {
			return err
		}
		if cloned = !ok; cloned {
			return tx.CreateAlert(ctx, emoney.Alert{ID: s.cfg.IDs.NewID(), Kind: "passkey_clone", Subject: "user:" + p.User.String(),
				Reason:    fmt.Sprintf("passkey %s signed with counter %d, not above the %d seen before: its key may have been copied", used.ID, counter, used.SignCount),
				CreatedAt: at})
		}
		return tx.MarkStepUp(ctx, p.Session, at)
	})
	if err != nil {
		return time.Time{}, err
	}
	if cloned {
		return time.Time{}, refused("its signature counter went backwards, as a copied key's does; use another factor, and remove this passkey", nil)
	}
	s.sessions.forget(p.Session) // the next request reads the new step-up time
	return at, nil
}

func (s *Service) saveCeremony(ctx context.Context, p Principal, kind emoney.CeremonyKind, session *webauthn.SessionData) error {
	data, err := json.Marshal(session)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	c := emoney.Ceremony{TokenHash: p.Session, Kind: kind, Data: data, CreatedAt: now, ExpiresAt: now.Add(ceremonyTTL)}
	return s.store.Update(ctx, func(tx emoney.Tx) error { return tx.SaveCeremony(ctx, c) })
}

// takeCeremony takes the session's ceremony of kind: it works once.
func (s *Service) takeCeremony(ctx context.Context, p Principal, kind emoney.CeremonyKind) (webauthn.SessionData, error) {
	var c emoney.Ceremony
	err := s.store.Update(ctx, func(tx emoney.Tx) error {
		var err error
		c, err = tx.TakeCeremony(ctx, p.Session, kind, s.cfg.Now())
		return err
	})
	if emoney.ErrorCode(err) == emoney.ENotFound {
		begin := "/api/v1/passkeys/register/begin"
		if kind == emoney.CeremonyStepUp {
			begin = "/api/v1/stepup/passkey/begin"
		}
		return webauthn.SessionData{}, emoney.Errorf(emoney.EConflict, "nothing to finish: none was begun on this session, it was finished already, or it expired; POST %s first", begin)
	}
	if err != nil {
		return webauthn.SessionData{}, err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(c.Data, &session); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("passkey ceremony: %w", err)
	}
	return session, nil
}

// details is what go-webauthn says went wrong, in its fixed words (never key material).
func details(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return "it could not be read"
}
