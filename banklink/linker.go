package banklink

// The Linker is the wallet's linking service (shared/DESIGN.md "Bank linking", steps 1 and
// 4–8) on top of the protocol client: who may link, the flow stored sealed between the redirect
// and the callback, the holder match against the eKYC identity, one bank account for one
// wallet, and the link stored sealed with its cooling-off window. Every outcome is audited.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	"emoney"
	"emoney/audit"
	"emoney/bankpolicy"
	"emoney/identity"
	"emoney/kyc"
	"emoney/notify"
	"emoney/pii"
)

// Rate limits of Begin: per wallet, 5 attempts at once and then one every 12 minutes (5 an
// hour); per bank, across wallets, 60 at once and then one a second (a wave of linking at one
// bank is slowed, whoever is behind it).
const (
	walletBurst = 5
	walletEvery = 12 * time.Minute
	bankBurst   = 60
	bankEvery   = time.Second
)

// LinkScope is what emoney asks every bank for: the holder's name and birth date (to match),
// debits (top-ups) and credits (withdrawals).
var LinkScope = []string{"holder", "debit", "credit"}

// MandatePayee is the payee named in every mandate.
const MandatePayee = "emoney"

// LinkerConfig configures a Linker.
type LinkerConfig struct {
	// Issuers maps each linkable bank's code to its issuer (configured in Wallet's ClientIDs).
	Issuers map[string]string
	// BankNames are the banks' names, for the result page (optional).
	BankNames map[string]string
	// PerCharge and Monthly are the mandate's caps asked of every bank, in yen: PerCharge is
	// tier 2's per-operation limit; Monthly the monthly cap from configuration.
	PerCharge int64
	Monthly   int64
	Now       func() time.Time
	IDs       emoney.IDSource

	// Holders tells customers about their links (nil: nobody is told).
	Holders *notify.Service
	// Notices maps a bank's code to its partner-notification endpoint (link_created,
	// link_refused, unlinked: notices.go); a bank without one is told nothing.
	Notices map[string]BankNotices
	// NoticeClient sends bank notices (nil: http.DefaultClient; each attempt times out in 10 s).
	NoticeClient *http.Client
	// WebhookSecrets maps each bank's code to the secret its webhooks are signed with (shared
	// when the wallet registered at the bank). A bank without one has its webhooks refused.
	WebhookSecrets map[string]string
}

// Linker links bank accounts to wallets. It is safe for concurrent use.
type Linker struct {
	store     emoney.Store
	keys      *pii.Keys
	wallet    *Wallet
	identity  *identity.Service
	kyc       *kyc.Service
	policies  *bankpolicy.Service
	cfg       LinkerConfig
	perWallet *identity.Limiter
	perBank   *identity.Limiter
	perDevice *identity.Limiter // guard.go

	remindMu   sync.Mutex
	remindedAt time.Time // the last RemindReconsent pass (reconsent.go)
}

// NewLinker returns a Linker. Errors: invalid when the mandate caps are not 1 ≤ PerCharge ≤
// Monthly.
func NewLinker(store emoney.Store, keys *pii.Keys, w *Wallet, ids *identity.Service, k *kyc.Service, pol *bankpolicy.Service, cfg LinkerConfig) (*Linker, error) {
	if cfg.PerCharge < 1 || cfg.Monthly < cfg.PerCharge {
		return nil, emoney.FieldError("mandate", "the mandate caps must be 1 ≤ per charge ≤ monthly")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IDs == nil {
		cfg.IDs = &emoney.Monotonic{Now: cfg.Now}
	}
	return &Linker{store: store, keys: keys, wallet: w, identity: ids, kyc: k, policies: pol, cfg: cfg,
		perWallet: identity.NewLimiter(walletEvery, walletBurst, 100_000),
		perBank:   identity.NewLimiter(bankEvery, bankBurst, 10_000),
		perDevice: identity.NewLimiter(deviceEvery, deviceBurst, 100_000)}, nil
}

var bankCode = regexp.MustCompile(`^[0-9]{4}$`)

// Started is what Begin returns: where to send the customer, and until when that works.
type Started struct {
	AuthorizationURL string
	ExpiresAt        time.Time
}

// Begin starts linking an account at bank for p (step 1 and 2). Errors: invalid (field bank)
// for a malformed or unknown bank; forbidden below tier 2; challenge_required (challenge
// "totp") without a step-up younger than 5 minutes; suspended when the bank's new_links kill
// switch is pulled or the bank is disabled; rate_limited (per wallet, device and bank, see the
// constants); declined (reason link_locked) after repeated failures (guard.go);
// bank_unavailable; internal. Every refusal is audited ("link.begin_refused").
func (l *Linker) Begin(ctx context.Context, p identity.Principal, bank string) (_ Started, err error) {
	defer func() {
		if err != nil {
			l.beginRefused(ctx, p, bank, err) // guard.go
		}
	}()
	if !bankCode.MatchString(bank) {
		return Started{}, emoney.FieldError("bank", "bank is a four-digit Zengin bank code")
	}
	issuer, ok := l.cfg.Issuers[bank]
	if !ok {
		return Started{}, emoney.FieldError("bank", "bank %s cannot be linked", bank)
	}
	if p.KYCTier < kyc.TierVerified {
		return Started{}, emoney.Errorf(emoney.EForbidden, "linking a bank account needs a verified identity (tier 2): POST /api/v1/kyc/ekyc first")
	}
	if !l.identity.Fresh(p) {
		return Started{}, &emoney.Error{Code: emoney.EChallengeRequired, Reason: "totp",
			Message: "linking a bank account needs a fresh step-up: POST /api/v1/stepup with a one-time code, then retry"}
	}
	if err := l.policies.NewLinksAllowed(ctx, bank); err != nil {
		return Started{}, err
	}
	now := l.cfg.Now()
	if err := l.perWallet.Allow(p.User.String(), "bank linking attempts", now); err != nil {
		return Started{}, err
	}
	if err := l.gate(ctx, p, now); err != nil { // locked wallet, per-device limit (guard.go)
		return Started{}, err
	}
	if err := l.perBank.Allow(bank, "linking attempts at this bank", now); err != nil {
		return Started{}, err
	}
	b, err := l.wallet.Discover(ctx, issuer)
	if err != nil {
		return Started{}, err
	}
	f, err := l.wallet.Start(ctx, b, Request{Scope: LinkScope,
		Mandate: Mandate{Payee: MandatePayee, PerCharge: l.cfg.PerCharge, Monthly: l.cfg.Monthly}})
	if err != nil {
		return Started{}, err
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return Started{}, fmt.Errorf("banklink: flow: %w", err)
	}
	h := stateHash(f.State)
	sealed, err := l.keys.Seal(raw, flowBinding(h))
	if err != nil {
		return Started{}, err
	}
	err = l.store.Update(ctx, func(tx emoney.Tx) error {
		if err := l.auditExpiredFlows(ctx, tx, now); err != nil { // guard.go
			return err
		}
		if err := tx.SaveLinkFlow(ctx, emoney.LinkFlow{StateHash: h, User: p.User, Bank: bank, Sealed: sealed, CreatedAt: now, ExpiresAt: f.ExpiresAt}); err != nil {
			return err
		}
		return l.audit(ctx, tx, "user:"+p.User.String(), "link.begin", p.User.String(), map[string]any{"bank": bank})
	})
	if err != nil {
		return Started{}, err
	}
	exp := f.ExpiresAt
	if !f.RequestURIExpiresAt.IsZero() && f.RequestURIExpiresAt.Before(exp) {
		exp = f.RequestURIExpiresAt
	}
	return Started{AuthorizationURL: f.AuthorizationURL, ExpiresAt: exp}, nil
}

func stateHash(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return h[:]
}

func flowBinding(h []byte) string { return "linkflow:" + hex.EncodeToString(h) }

// Outcome is what a callback came to, for the customer's result page: no secret and no personal
// data beyond the bank's name and the account's last digits.
type Outcome struct {
	Status  string // "linked", "review" or "refused"
	Bank    string // code
	Name    string // the bank's name, if configured
	Last    string // the account number's last three digits ("" when unknown)
	Message string
	Link    emoney.ID // the link (linked or review)
}

// Outcome statuses.
const (
	Linked   = "linked"
	InReview = "review"
	Refused  = "refused"
)

// account is what the links table seals as the account.
type account struct {
	Branch string `json:"branch"`
	Number string `json:"number"`
}

// holder is what the links table seals as the holder.
type holder struct {
	Kana      string `json:"kana"`
	BirthDate string `json:"birth_date"`
}

// Callback handles the bank's redirect back (steps 4–7): it takes the flow its state names
// (once), finishes the authorization, reads the holder and matches them against the user's
// eKYC identity with the bank's thresholds, and links (active, in a cooling-off window), holds
// for review (status review, alert "link_review") or refuses (bank tokens revoked, alert
// "link_refused"). A bank account already backing another wallet is refused likewise, the alert
// naming both wallets. The owner's own account links again: a reconsent link of it is revoked
// and replaced in the transaction that creates the new one (audited "link.replaced"); an
// active or in-review one stays and the new grant is revoked as a duplicate (linkedAlready).
// A new link's cooling-off ends no earlier than that of any earlier link of the account, so
// unlinking and linking again shortens nothing. Refusals are an Outcome, not an error. Errors: not_found for a state no
// flow has (unknown, expired, or used already), and what Finish answers (invalid for a
// mismatched iss, declined when the customer did not consent, bank_unavailable, internal).
func (l *Linker) Callback(ctx context.Context, query url.Values) (Outcome, error) {
	state := query.Get("state")
	if state == "" {
		return Outcome{}, emoney.FieldError("state", "the callback carries no state")
	}
	now := l.cfg.Now()
	h := stateHash(state)
	var lf emoney.LinkFlow
	err := l.store.Update(ctx, func(tx emoney.Tx) error {
		var err error
		lf, err = tx.TakeLinkFlow(ctx, h, now)
		return err
	})
	if emoney.ErrorCode(err) == emoney.ENotFound {
		callbackRefused(ctx, l, query) // guard.go
		return Outcome{}, emoney.Errorf(emoney.ENotFound, "no linking is waiting for this answer: it expired or was used already; start again")
	}
	if err != nil {
		return Outcome{}, err
	}
	raw, err := l.keys.Open(lf.Sealed, flowBinding(h))
	if err != nil {
		return Outcome{}, err
	}
	var f Flow
	if err := json.Unmarshal(raw, &f); err != nil {
		return Outcome{}, fmt.Errorf("banklink: stored flow: %w", err)
	}
	actor, user := "user:"+lf.User.String(), lf.User
	out := Outcome{Bank: lf.Bank, Name: l.cfg.BankNames[lf.Bank]}
	fail := func(err error, what string) (Outcome, error) {
		l.failAudited(ctx, user, lf.Bank, what, emoney.ErrorCode(err)) // audited, counted towards the lock (guard.go)
		return Outcome{}, err
	}
	tok, err := l.wallet.Finish(ctx, &f, query)
	if err != nil {
		return fail(err, "authorization")
	}
	// From here the bank has granted access: every way out that does not link revokes it.
	revoke := func() {
		if err := l.wallet.Revoke(context.WithoutCancel(ctx), tok); err != nil {
			l.auditAlone(ctx, "system:banklink", "link.revoke_failed", user.String(), map[string]any{"bank": lf.Bank, "code": emoney.ErrorCode(err)})
		}
	}
	if step, err := l.recheck(ctx, user, tok); err != nil { // tier, wallet enabled, scope (guard.go)
		revoke()
		return fail(err, step)
	}
	h2, err := l.wallet.Holder(ctx, tok)
	if err == nil && h2.AccountNumber == "" {
		err = fail2("bank " + lf.Bank + ": the holder answer lacks account_number")
	}
	if err != nil {
		revoke()
		return fail(err, "holder")
	}
	out.Last = last3(h2.AccountNumber)
	pol, err := l.policies.Get(ctx, lf.Bank)
	if err == nil {
		err = l.policies.NewLinksAllowed(ctx, lf.Bank) // pulled between Begin and now
	}
	if err != nil {
		revoke()
		return fail(err, "policy")
	}
	var k emoney.KYC
	err = l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		k, err = tx.KYC(ctx, user)
		return err
	})
	var id kyc.Identity
	if err == nil {
		if k.IdentitySealed == nil {
			err = emoney.Errorf(emoney.EForbidden, "linking a bank account needs a verified identity (tier 2)")
		} else {
			id, err = l.kyc.Identity(k)
		}
	}
	if err != nil {
		revoke()
		return fail(err, "identity")
	}
	d := Match(id.NameKana, id.BirthDate, h2.Kana, h2.BirthDate, Thresholds{Link: pol.MatchLink, Review: pol.MatchReview})
	detail := map[string]any{"bank": lf.Bank, "outcome": d.Outcome, "score": d.Score, "reason": d.Reason}
	if d.Outcome == OutcomeRefuse {
		revoke()
		why := fmt.Sprintf("holder of the account at bank %s does not match wallet:%s's identity (%s, score %d)", lf.Bank, user, d.Reason, d.Score)
		acct := h2.Branch + "-" + h2.AccountNumber
		if err := l.refuse(ctx, actor, user, why, detail, func(tx emoney.Tx, t *told) error {
			return l.queueBankNotice(ctx, tx, t, lf.Bank, NoticeLinkRefused, acct, "holder_mismatch: the holder does not match the wallet's verified identity")
		}); err != nil {
			return Outcome{}, err
		}
		out.Status, out.Message = Refused, "The account holder does not match your verified identity. The link was refused and the bank's access withdrawn."
		return out, nil
	}

	index, err := l.keys.Index("bank_account", lf.Bank+":"+h2.Branch+":"+h2.AccountNumber)
	if err != nil {
		revoke()
		return fail(err, "seal")
	}
	link := emoney.BankLink{ID: l.cfg.IDs.NewID(), User: user, Bank: lf.Bank, AccountIndex: index, Scope: tok.Scope,
		MandatePayee: f.Mandate.Payee, MandatePerCharge: f.Mandate.PerCharge, MandateMonthly: f.Mandate.Monthly,
		Status: emoney.LinkActive, Score: d.Score, CreatedAt: now, CoolingOffUntil: now.Add(pol.CoolingOff), ConsentedAt: now,
		GrantID: tok.GrantID}
	if d.Outcome == OutcomeReview {
		link.Status = emoney.LinkReview
	}
	if err := l.seal(&link, h2, tok); err != nil {
		revoke()
		return fail(err, "seal")
	}
	detail["link"] = link.ID.String()
	var replaced, own emoney.BankLink // the owner's reconsent link this one replaces; the owner's live link that stays
	var t told
	err = l.store.Update(ctx, func(tx emoney.Tx) error {
		replaced, own = emoney.BankLink{}, emoney.BankLink{}
		t.reset()
		prev, err := tx.LinksByAccount(ctx, index)
		if err != nil {
			return err
		}
		for _, p := range prev {
			// The account's cooling-off window never ends earlier for linking it again.
			if p.CoolingOffUntil.After(link.CoolingOffUntil) {
				link.CoolingOffUntil = p.CoolingOffUntil
			}
			if p.Status == emoney.LinkRevoked || p.User != user {
				continue // another wallet's live link: CreateLink answers conflict, account taken
			}
			if p.Status != emoney.LinkReconsent {
				own = p // active or in review: it stays as it is
				return nil
			}
			if _, err := tx.RevokeLink(ctx, user, p.ID, actor, now); err != nil {
				return err
			}
			if err := l.audit(ctx, tx, actor, "link.replaced", p.ID.String(), map[string]any{"bank": lf.Bank, "by": link.ID.String()}); err != nil {
				return err
			}
			replaced = p
			detail["replaces"] = p.ID.String()
		}
		if err := tx.CreateLink(ctx, link); err != nil {
			return err
		}
		// The holder and the bank are told (DESIGN.md step 7): the bank tells its customer too.
		if err := l.noteHolder(ctx, tx, &t, notify.Message{User: user, Kind: NotifyLinkCreated, Dedupe: "link:" + link.ID.String() + ":created",
			Text: l.linkedText(link, out.Last)}); err != nil {
			return err
		}
		if err := l.queueBankNotice(ctx, tx, &t, lf.Bank, NoticeLinkCreated, h2.Branch+"-"+h2.AccountNumber,
			fmt.Sprintf("status %s; cooling-off until %s", link.Status, link.CoolingOffUntil.UTC().Format(time.RFC3339))); err != nil {
			return err
		}
		if link.Status == emoney.LinkReview {
			// The alert has the link's id: a staff decision on the link resolves it (review.go).
			if err := tx.CreateAlert(ctx, emoney.Alert{ID: link.ID, Kind: "link_review", Subject: actor, Status: emoney.AlertOpen, CreatedAt: now,
				Reason: fmt.Sprintf("link %s at bank %s: holder name score %d, between the review and link thresholds", link.ID, lf.Bank, d.Score)}); err != nil {
				return err
			}
		}
		return l.audit(ctx, tx, actor, "link."+string(link.Status), link.ID.String(), detail)
	})
	if err == nil && !own.ID.IsZero() {
		return l.linkedAlready(ctx, actor, own, detail, out, revoke)
	}
	if emoney.ErrorCode(err) == emoney.EConflict {
		// One account, one wallet: this account backs another wallet already — unless a
		// callback of the owner's own won a race for it.
		other, o := "another wallet", emoney.BankLink{}
		_ = l.store.View(ctx, func(tx emoney.ReadTx) error {
			var err error
			if o, err = tx.LinkByAccount(ctx, index); err == nil {
				other = "wallet:" + o.User.String()
			}
			return nil
		})
		if o.User == user {
			return l.linkedAlready(ctx, actor, o, detail, out, revoke)
		}
		revoke()
		detail["outcome"], detail["reason"], detail["other"] = OutcomeRefuse, "account_taken", other
		why := fmt.Sprintf("the account at bank %s that wallet:%s tried to link is linked to %s", lf.Bank, user, other)
		// Both sides are told (DESIGN.md step 6): the bank, naming the account, and the first
		// wallet's holder. The wallet that tried learns nothing about the first.
		if err := l.refuse(ctx, actor, user, why, detail, func(tx emoney.Tx, t *told) error {
			if !o.User.IsZero() {
				if err := l.noteHolder(ctx, tx, t, notify.Message{User: o.User, Kind: NotifyAttemptRefused, Dedupe: "attempt:" + link.ID.String(),
					Text: fmt.Sprintf("Someone tried to link %s, which is linked to your wallet, to another wallet. We refused it. If this was not you, call us.",
						l.accountName(lf.Bank, out.Last))}); err != nil {
					return err
				}
			}
			return l.queueBankNotice(ctx, tx, t, lf.Bank, NoticeLinkRefused, h2.Branch+"-"+h2.AccountNumber,
				"account_taken: a second wallet tried to link an account linked to another wallet already")
		}); err != nil {
			return Outcome{}, err
		}
		out.Status, out.Message = Refused, "This bank account is linked to another wallet already. The link was refused and the bank's access withdrawn."
		return out, nil
	}
	if err != nil {
		revoke()
		return fail(err, "store")
	}
	l.flush(ctx, &t)
	if !replaced.ID.IsZero() {
		// The bank refused the replaced link's tokens; withdraw its grant too, if it has one.
		if tok, err := l.Tokens(replaced); err == nil {
			if err := l.wallet.Revoke(context.WithoutCancel(ctx), tok); err != nil && !errors.Is(err, ErrTokenInvalid) {
				l.auditAlone(ctx, "system:banklink", "link.revoke_failed", replaced.ID.String(), map[string]any{"bank": lf.Bank, "code": emoney.ErrorCode(err)})
			}
		}
	}
	out.Link = link.ID
	if link.Status == emoney.LinkReview {
		out.Status, out.Message = InReview, "Your account is linked pending a check by our staff; you will be told when it is done."
	} else {
		out.Status, out.Message = Linked, "Your account is linked."
	}
	return out, nil
}

// linkedAlready answers a callback for an account the same user has a live link of (active or
// in review): that link stays as it is — replacing it would withdraw the grant its operations
// in flight are re-sent with — and the grant just made is revoked as a duplicate. Audited
// "link.duplicate"; no alert: nobody else is involved.
func (l *Linker) linkedAlready(ctx context.Context, actor string, own emoney.BankLink, detail map[string]any, out Outcome, revoke func()) (Outcome, error) {
	revoke()
	detail["outcome"], detail["existing"] = "duplicate", own.ID.String()
	delete(detail, "link")
	l.auditAlone(ctx, actor, "link.duplicate", own.ID.String(), detail)
	out.Link = own.ID
	if own.Status == emoney.LinkReview {
		out.Status, out.Message = InReview, "This account is linked to your wallet already, pending a check by our staff; nothing changed."
	} else {
		out.Status, out.Message = Linked, "This account is linked to your wallet already; nothing changed."
	}
	return out, nil
}

func fail2(msg string) error { return fail(ErrProtocol, emoney.EInternal, "", "", msg) }

func last3(n string) string {
	if len(n) <= 3 {
		return n
	}
	return n[len(n)-3:]
}

// refuse records a refused link: an alert "link_refused", an audit entry, and what tell
// writes in the same transaction (notices), sent once it commits.
func (l *Linker) refuse(ctx context.Context, actor string, user emoney.ID, why string, detail map[string]any, tell func(emoney.Tx, *told) error) error {
	var t told
	err := l.store.Update(ctx, func(tx emoney.Tx) error {
		t.reset()
		if err := tx.CreateAlert(ctx, emoney.Alert{ID: l.cfg.IDs.NewID(), Kind: "link_refused", Subject: actor, Reason: why,
			Status: emoney.AlertOpen, CreatedAt: l.cfg.Now()}); err != nil {
			return err
		}
		if err := tell(tx, &t); err != nil {
			return err
		}
		if err := l.failed(ctx, tx, user, fmt.Sprint(detail["bank"]), "holder", fmt.Sprint(detail["reason"])); err != nil { // guard.go
			return err
		}
		return l.audit(ctx, tx, actor, "link.refused", user.String(), detail)
	})
	if err == nil {
		l.flush(ctx, &t)
	}
	return err
}

// seal seals the account, holder and tokens into link.
func (l *Linker) seal(link *emoney.BankLink, h Holder, tok Tokens) error {
	prefix := "link:" + link.ID.String()
	var err error
	for _, x := range []struct {
		v    any
		name string
		dst  *[]byte
	}{{account{h.Branch, h.AccountNumber}, ":account", &link.AccountSealed}, {holder{h.Kana, h.BirthDate}, ":holder", &link.HolderSealed},
		{tok, ":tokens", &link.TokensSealed}} {
		raw, e := json.Marshal(x.v)
		if e != nil {
			return e
		}
		if *x.dst, err = l.keys.Seal(raw, prefix+x.name); err != nil {
			return err
		}
	}
	return nil
}

// Tokens opens a link's bank tokens (for the top-ups and withdrawals that use them).
func (l *Linker) Tokens(link emoney.BankLink) (Tokens, error) {
	var t Tokens
	raw, err := l.keys.Open(link.TokensSealed, "link:"+link.ID.String()+":tokens")
	if err != nil {
		return t, err
	}
	return t, json.Unmarshal(raw, &t)
}

// View is what a customer sees of a link.
type View struct {
	ID              emoney.ID         `json:"id"`
	Bank            string            `json:"bank"`
	Account         string            `json:"account"` // masked: "****567"
	Status          emoney.LinkStatus `json:"status"`
	CreatedAt       time.Time         `json:"created_at"`
	CoolingOffUntil time.Time         `json:"cooling_off_until"`
	ConsentedAt     time.Time         `json:"consented_at"`
	RevokedAt       time.Time         `json:"revoked_at,omitzero"`
}

func (l *Linker) view(link emoney.BankLink) (View, error) {
	raw, err := l.keys.Open(link.AccountSealed, "link:"+link.ID.String()+":account")
	if err != nil {
		return View{}, err
	}
	var a account
	if err := json.Unmarshal(raw, &a); err != nil {
		return View{}, fmt.Errorf("banklink: sealed account: %w", err)
	}
	return View{ID: link.ID, Bank: link.Bank, Account: "****" + last3(a.Number), Status: link.Status, CreatedAt: link.CreatedAt,
		CoolingOffUntil: link.CoolingOffUntil, ConsentedAt: link.ConsentedAt, RevokedAt: link.RevokedAt}, nil
}

// List returns p's links, newest first, account numbers masked. Errors: internal.
func (l *Linker) List(ctx context.Context, p identity.Principal) ([]View, error) {
	var links []emoney.BankLink
	if err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		links, err = tx.Links(ctx, p.User)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]View, 0, len(links))
	for _, link := range links {
		v, err := l.view(link)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Unlink revokes p's link id: at the bank first (RFC 7009; a grant the bank no longer knows is
// fine), then here (status revoked), audited. Errors: not_found unless p owns the link;
// conflict if it is revoked already; bank_unavailable when the bank does not answer (nothing
// changed: retry); internal.
func (l *Linker) Unlink(ctx context.Context, p identity.Principal, id emoney.ID) (View, error) {
	var link emoney.BankLink
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		link, err = tx.Link(ctx, id)
		return err
	})
	if err == nil && link.User != p.User {
		err = emoney.Errorf(emoney.ENotFound, "no such bank link")
	}
	if err != nil {
		return View{}, err
	}
	if link.Status == emoney.LinkRevoked {
		return View{}, emoney.Errorf(emoney.EConflict, "this bank link is revoked already")
	}
	// A 2020 legacy link (legacy.go) has nothing to revoke at the bank: its protocol has no
	// revocation, which was part of the weakness.
	if link.Method != emoney.LinkLegacy {
		tok, err := l.Tokens(link)
		if err != nil {
			return View{}, err
		}
		if err := l.wallet.Revoke(ctx, tok); err != nil && !errors.Is(err, ErrTokenInvalid) {
			return View{}, err
		}
	}
	actor := "user:" + p.User.String()
	a, err := l.linkAccount(link)
	if err != nil {
		return View{}, err
	}
	var t told
	err = l.store.Update(ctx, func(tx emoney.Tx) error {
		t.reset()
		var err error
		if link, err = tx.RevokeLink(ctx, p.User, id, actor, l.cfg.Now()); err != nil {
			return err
		}
		// Either side can unlink and the other is told (DESIGN.md step 8); the holder too, in
		// case it was not them.
		if err := l.noteHolder(ctx, tx, &t, notify.Message{User: link.User, Kind: NotifyUnlinked, Dedupe: "link:" + id.String() + ":unlinked",
			Text: l.accountName(link.Bank, last3(a.Number)) + " was unlinked from your wallet. If this was not you, call us."}); err != nil {
			return err
		}
		if err := l.queueBankNotice(ctx, tx, &t, link.Bank, NoticeUnlinked, a.Branch+"-"+a.Number, "the holder unlinked the account in the wallet"); err != nil {
			return err
		}
		return l.audit(ctx, tx, actor, "link.revoked", id.String(), map[string]any{"bank": link.Bank})
	})
	if err != nil {
		return View{}, err
	}
	l.flush(ctx, &t)
	return l.view(link)
}

func (l *Linker) audit(ctx context.Context, tx emoney.Tx, actor, action, object string, detail map[string]any) error {
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: l.cfg.Now(), Actor: actor, Action: action, Object: object, Detail: raw})
	return err
}

// auditAlone appends an audit entry in a transaction of its own, for outcomes that write
// nothing else. A failure to audit is returned nowhere: the outcome it records stands.
func (l *Linker) auditAlone(ctx context.Context, actor, action, object string, detail map[string]any) {
	_ = l.store.Update(context.WithoutCancel(ctx), func(tx emoney.Tx) error { return l.audit(ctx, tx, actor, action, object, detail) })
}
