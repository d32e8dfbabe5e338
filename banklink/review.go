package banklink

// Staff decisions on links (issue 6): a link whose holder-match score fell between the bank's
// review and link thresholds waits in status review with an alert "link_review" (whose id is the
// link's); an analyst compares the holder's name as the bank reported it with the eKYC name
// (viewing them is audited) and releases the link (review → active, cooling-off from the
// release) or rejects it (review → revoked, the bank's grant revoked first). Fraud operations
// revoke an active link the same way. Every decision needs a fresh step-up and a reason, is
// audited, and resolves the link_review alert; of two decisions at once, one wins and the other
// gets conflict (the store moves the status only from the one expected).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"emoney"
	"emoney/identity"
)

// Staff decisions on a link, as audited ("link.<decision>") and told to the holder.
const (
	DecisionRelease = "released"
	DecisionReject  = "rejected"
	DecisionRevoke  = "revoked_by_staff"
)

// StaffView is a link as staff see it in a list: no personal data beyond the masked account.
type StaffView struct {
	View
	User  emoney.ID `json:"user"`
	Score int       `json:"score"`
}

// StaffDetail is one link with the personal data staff compare to decide it: the holder as the
// bank reported it and the wallet's eKYC identity, side by side, with the match score.
type StaffDetail struct {
	StaffView
	BankHolderKana      string `json:"bank_holder_kana"`
	BankHolderBirthDate string `json:"bank_holder_birth_date"`
	EKYCNameKana        string `json:"ekyc_name_kana"`
	EKYCNameKanji       string `json:"ekyc_name_kanji"`
	EKYCBirthDate       string `json:"ekyc_birth_date"`
}

// MaxStaffList is the most links StaffLinks returns at once.
const MaxStaffList = 200

func staffActor(p identity.Principal) string { return "staff:" + p.User.String() }

func (l *Linker) staffView(link emoney.BankLink) (StaffView, error) {
	v, err := l.view(link)
	return StaffView{View: v, User: link.User, Score: link.Score}, err
}

// StaffLinks returns up to limit links in the given status (review, active, reconsent,
// revoked) with ids after after, oldest first, accounts masked. Errors: invalid (status,
// limit), internal.
func (l *Linker) StaffLinks(ctx context.Context, status emoney.LinkStatus, after emoney.ID, limit int) ([]StaffView, error) {
	switch status {
	case emoney.LinkReview, emoney.LinkActive, emoney.LinkReconsent, emoney.LinkRevoked:
	default:
		return nil, emoney.FieldError("status", "status must be review, active, reconsent or revoked")
	}
	if limit < 1 || limit > MaxStaffList {
		return nil, emoney.FieldError("limit", "limit must be between 1 and %d", MaxStaffList)
	}
	var links []emoney.BankLink
	if err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		links, err = tx.LinksByStatus(ctx, status, after, limit)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]StaffView, 0, len(links))
	for _, link := range links {
		v, err := l.staffView(link)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// StaffLink returns one link with the bank's holder and the wallet's eKYC identity side by
// side. Viewing personal data is audited ("link.viewed", who and which link) before it is
// returned. Errors: not_found, internal.
func (l *Linker) StaffLink(ctx context.Context, p identity.Principal, id emoney.ID) (StaffDetail, error) {
	var link emoney.BankLink
	var k emoney.KYC
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		if link, err = tx.Link(ctx, id); err != nil {
			return err
		}
		k, err = tx.KYC(ctx, link.User)
		if emoney.ErrorCode(err) == emoney.ENotFound {
			err = nil
		}
		return err
	})
	if err != nil {
		return StaffDetail{}, err
	}
	v, err := l.staffView(link)
	if err != nil {
		return StaffDetail{}, err
	}
	raw, err := l.keys.Open(link.HolderSealed, "link:"+link.ID.String()+":holder")
	if err != nil {
		return StaffDetail{}, err
	}
	var h holder
	if err := json.Unmarshal(raw, &h); err != nil {
		return StaffDetail{}, fmt.Errorf("banklink: sealed holder: %w", err)
	}
	d := StaffDetail{StaffView: v, BankHolderKana: h.Kana, BankHolderBirthDate: h.BirthDate}
	if k.IdentitySealed != nil {
		id, err := l.kyc.Identity(k)
		if err != nil {
			return StaffDetail{}, err
		}
		d.EKYCNameKana, d.EKYCNameKanji, d.EKYCBirthDate = id.NameKana, id.NameKanji, id.BirthDate
	}
	err = l.store.Update(ctx, func(tx emoney.Tx) error {
		return l.audit(ctx, tx, staffActor(p), "link.viewed", link.ID.String(), map[string]any{"user": link.User.String(), "personal_data": "holder,ekyc"})
	})
	if err != nil {
		return StaffDetail{}, err
	}
	return d, nil
}

// decisionChecks are what every decision needs: a fresh step-up and a reason.
func (l *Linker) decisionChecks(p identity.Principal, reason string) error {
	if err := emoney.ValidKillSwitchReason(reason); err != nil {
		return err
	}
	if !l.identity.Fresh(p) {
		return &emoney.Error{Code: emoney.EChallengeRequired, Reason: "totp",
			Message: "deciding a bank link needs a fresh step-up: POST /api/v1/stepup with a one-time code, then retry"}
	}
	return nil
}

// Release moves a link in review to active, its cooling-off window starting now (never ending
// earlier than it would have), audited "link.released" with the reason, the link_review alert
// resolved as released, the holder told. Errors: invalid (reason), challenge_required (no
// fresh step-up), not_found, conflict (not in review: decided already), internal.
func (l *Linker) Release(ctx context.Context, p identity.Principal, id emoney.ID, reason string) (StaffView, error) {
	if err := l.decisionChecks(p, reason); err != nil {
		return StaffView{}, err
	}
	link, err := l.staffLinkOf(ctx, id)
	if err != nil {
		return StaffView{}, err
	}
	pol, err := l.policies.Get(ctx, link.Bank)
	if err != nil {
		return StaffView{}, err
	}
	now := l.cfg.Now()
	until := now.Add(pol.CoolingOff)
	if link.CoolingOffUntil.After(until) {
		until = link.CoolingOffUntil
	}
	link, err = l.decide(ctx, p, link, emoney.LinkReview, emoney.LinkActive, until, DecisionRelease, emoney.AlertReleased, reason)
	if err != nil {
		return StaffView{}, err
	}
	return l.staffView(link)
}

// Reject refuses a link in review: the bank's grant is revoked first (RFC 7009; a grant the
// bank no longer knows is fine), then the link moves to revoked, audited "link.rejected" with
// the reason, the link_review alert resolved as rejected, the holder told. Errors: invalid,
// challenge_required, not_found, conflict (not in review), bank_unavailable (nothing changed:
// retry), internal.
func (l *Linker) Reject(ctx context.Context, p identity.Principal, id emoney.ID, reason string) (StaffView, error) {
	return l.revokeByStaff(ctx, p, id, reason, emoney.LinkReview, DecisionReject, emoney.AlertRejected)
}

// RevokeActive revokes an active link for fraud operations, as Reject does a link in review
// (audited "link.revoked_by_staff"). Errors: as Reject; conflict unless the link is active.
func (l *Linker) RevokeActive(ctx context.Context, p identity.Principal, id emoney.ID, reason string) (StaffView, error) {
	return l.revokeByStaff(ctx, p, id, reason, emoney.LinkActive, DecisionRevoke, "")
}

func (l *Linker) revokeByStaff(ctx context.Context, p identity.Principal, id emoney.ID, reason string, from emoney.LinkStatus, decision string, alert emoney.AlertStatus) (StaffView, error) {
	if err := l.decisionChecks(p, reason); err != nil {
		return StaffView{}, err
	}
	link, err := l.staffLinkOf(ctx, id)
	if err != nil {
		return StaffView{}, err
	}
	if link.Status != from {
		return StaffView{}, emoney.Errorf(emoney.EConflict, "the bank link is %s, not %s", link.Status, from)
	}
	tok, err := l.Tokens(link)
	if err != nil {
		return StaffView{}, err
	}
	if err := l.wallet.Revoke(ctx, tok); err != nil && !errors.Is(err, ErrTokenInvalid) {
		return StaffView{}, err
	}
	link, err = l.decide(ctx, p, link, from, emoney.LinkRevoked, time.Time{}, decision, alert, reason)
	if emoney.ErrorCode(err) == emoney.EConflict && from == emoney.LinkReview {
		// Another analyst released it meanwhile, but its grant is gone at the bank now: it can
		// move no money, so it waits for the customer's consent again, as any link whose bank
		// no longer accepts its tokens.
		if serr := l.store.Update(ctx, func(tx emoney.Tx) error {
			if err := tx.SetLinkStatus(ctx, id, emoney.LinkActive, emoney.LinkReconsent); err != nil {
				return err
			}
			return l.audit(ctx, tx, staffActor(p), "link.reconsent", id.String(), map[string]any{"why": "released while being rejected: its grant was revoked"})
		}); serr != nil && emoney.ErrorCode(serr) != emoney.ENotFound {
			return StaffView{}, serr
		}
	}
	if err != nil {
		return StaffView{}, err
	}
	return l.staffView(link)
}

// staffLinkOf reads one link for a decision. Errors: not_found, internal.
func (l *Linker) staffLinkOf(ctx context.Context, id emoney.ID) (emoney.BankLink, error) {
	var link emoney.BankLink
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		link, err = tx.Link(ctx, id)
		return err
	})
	return link, err
}

// decide moves link from one status to another in one transaction with its audit entry and
// the link_review alert's resolution (if alert is not ""), then tells the holder.
func (l *Linker) decide(ctx context.Context, p identity.Principal, link emoney.BankLink, from, to emoney.LinkStatus, until time.Time,
	decision string, alert emoney.AlertStatus, reason string) (emoney.BankLink, error) {
	actor, now := staffActor(p), l.cfg.Now()
	var got emoney.BankLink
	err := l.store.Update(ctx, func(tx emoney.Tx) error {
		var err error
		if got, err = tx.DecideLink(ctx, link.ID, from, to, until, actor, now); err != nil {
			return err
		}
		if alert != "" {
			// A link that went to review before alerts carried its id has none to resolve; one
			// resolved through the alerts queue already is left as it is.
			switch err := tx.ResolveAlert(ctx, link.ID, alert, actor, now); emoney.ErrorCode(err) {
			case "", emoney.ENotFound, emoney.EConflict:
			default:
				return err
			}
		}
		detail := map[string]any{"bank": link.Bank, "user": link.User.String(), "from": string(from), "to": string(to), "reason": reason, "score": link.Score}
		if to == emoney.LinkActive {
			detail["cooling_off_until"] = until.UTC().Format(time.RFC3339)
		}
		return l.audit(ctx, tx, actor, "link."+decision, link.ID.String(), detail)
	})
	if err != nil {
		return emoney.BankLink{}, err
	}
	l.tellHolderOfDecision(ctx, got, decision)
	return got, nil
}

// tellHolderOfDecision tells the holder of a staff decision on their link (released, rejected,
// revoked_by_staff), once per link and decision. It runs after the decision is committed; a
// failure to tell is audited, not returned: the decision stands.
func (l *Linker) tellHolderOfDecision(ctx context.Context, link emoney.BankLink, decision string) {
	what := map[string]string{
		DecisionRelease: "our check is done and the link is active. Top-ups are capped low for a while after linking.",
		DecisionReject:  "after our check the link was refused and the wallet's access at your bank withdrawn. If you think this is wrong, call us.",
		DecisionRevoke:  "we unlinked this account and withdrew the wallet's access at your bank. If you did not expect this, call us.",
	}[decision]
	if what == "" {
		return
	}
	if err := l.NotifyHolder(context.WithoutCancel(ctx), link, "link_"+decision, "link:"+link.ID.String()+":"+decision, what); err != nil {
		l.auditAlone(ctx, "system:banklink", "link.notify_failed", link.ID.String(), map[string]any{"bank": link.Bank, "kind": "link_" + decision, "code": emoney.ErrorCode(err)})
	}
}

// LinkLock returns a user's linking lock, or not_found if they are not locked. Errors:
// not_found, internal.
func (l *Linker) LinkLock(ctx context.Context, user emoney.ID) (emoney.LinkLock, error) {
	var lock emoney.LinkLock
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		lock, err = tx.LinkLock(ctx, user)
		return err
	})
	return lock, err
}

// Unlock lets a user locked out of linking (LockFailures failures in LockWindow) link again,
// forgetting the failures that locked them; audited "link.unlocked" with the reason, the open
// link_locked alerts of the user are left to the alerts queue. Errors: invalid (reason),
// challenge_required, not_found (not locked), internal.
func (l *Linker) Unlock(ctx context.Context, p identity.Principal, user emoney.ID, reason string) error {
	if err := l.decisionChecks(p, reason); err != nil {
		return err
	}
	return l.store.Update(ctx, func(tx emoney.Tx) error {
		lock, err := tx.LinkLock(ctx, user)
		if err != nil {
			return err
		}
		if err := tx.UnlockLinking(ctx, user); err != nil {
			return err
		}
		return l.audit(ctx, tx, staffActor(p), "link.unlocked", user.String(), map[string]any{"reason": reason, "failures": lock.Failures,
			"locked_at": lock.LockedAt.UTC().Format(time.RFC3339)})
	})
}
