package banklink

// Guards around linking (shared/DESIGN.md "Bank linking", step 1: "attempts are rate-limited per
// wallet, device and bank; repeated failures lock"), and the checks the callback repeats because
// things change while the customer is at the bank: the per-device limit, the linking lock that
// repeated failures set, the audit of every refused Begin, and the wallet's tier, state and the
// granted scope at the callback.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/kyc"
)

// Rate limit of Begin per device (the session's device, across every wallet signed in on it):
// 5 attempts at once, then one every 12 minutes, so one phone cannot link for a ring of mule
// wallets faster than one wallet can link for itself.
const (
	deviceBurst = 5
	deviceEvery = 12 * time.Minute
)

// Repeated failures lock: a wallet whose link attempts ended refused or failed at the callback
// LockFailures times within LockWindow cannot begin another link until staff unlock it
// (Linker.Unlock). The lock is stored, so it holds on every instance and across restarts.
const (
	LockFailures = 3
	LockWindow   = 24 * time.Hour
)

// ReasonLinkLocked is the reason of the declined error Begin answers for a locked wallet.
const ReasonLinkLocked = "link_locked"

// deviceKey is the key of p's device for the per-device limiter: the device the session
// signed in from, or the session itself when the client named none.
func deviceKey(p identity.Principal) string {
	if p.Device != "" {
		return "device:" + p.Device
	}
	return "session:" + hex.EncodeToString(p.Session)
}

// gate refuses a Begin from a locked wallet (declined, reason link_locked) or from a device
// over its limit (rate_limited).
func (l *Linker) gate(ctx context.Context, p identity.Principal, now time.Time) error {
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		_, err := tx.LinkLock(ctx, p.User)
		return err
	})
	switch emoney.ErrorCode(err) {
	case emoney.ENotFound:
	case "":
		return &emoney.Error{Code: emoney.EDeclined, Reason: ReasonLinkLocked,
			Message: "bank linking is locked for this wallet after repeated failed attempts: contact support to unlock it"}
	default:
		return err
	}
	return l.perDevice.Allow(deviceKey(p), "bank linking attempts from this device", now)
}

// beginRefused audits a refused Begin ("link.begin_refused", with the bank asked for and the
// error's code and reason): every refusal leaves a trace, also those that write nothing else.
func (l *Linker) beginRefused(ctx context.Context, p identity.Principal, bank string, err error) {
	detail := map[string]any{"bank": bank, "code": emoney.ErrorCode(err)}
	if !bankCode.MatchString(bank) {
		detail["bank"] = "" // not a bank code: whatever the client sent stays out of the log
	}
	if e := (*emoney.Error)(nil); errors.As(err, &e) && e.Reason != "" {
		detail["reason"] = e.Reason
	}
	l.auditAlone(ctx, "user:"+p.User.String(), "link.begin_refused", p.User.String(), detail)
}

// failed records a link attempt that ended refused or failed at its callback, in tx with its
// audit entry, and locks linking for the user once LockFailures are recorded within
// LockWindow: the lock is audited ("link.locked") and raises an alert "link_locked".
func (l *Linker) failed(ctx context.Context, tx emoney.Tx, user emoney.ID, bank, step, code string) error {
	now := l.cfg.Now()
	if err := tx.RecordLinkFailure(ctx, emoney.LinkFailure{User: user, Bank: bank, Step: step, Code: code, At: now}); err != nil {
		return err
	}
	n, err := tx.LinkFailures(ctx, user, now.Add(-LockWindow))
	if err != nil || n < LockFailures {
		return err
	}
	if _, err := tx.LinkLock(ctx, user); emoney.ErrorCode(err) != emoney.ENotFound {
		return err // locked already (nil), or a store error
	}
	why := fmt.Sprintf("wallet:%s: %d failed bank link attempts within %s (the last at bank %s, %s: %s); linking is locked until staff unlock it",
		user, n, LockWindow, bank, step, code)
	if err := tx.LockLinking(ctx, emoney.LinkLock{User: user, LockedAt: now, Failures: n, Reason: why}); err != nil {
		return err
	}
	if err := tx.CreateAlert(ctx, emoney.Alert{ID: l.cfg.IDs.NewID(), Kind: "link_locked", Subject: "user:" + user.String(), Reason: why,
		Status: emoney.AlertOpen, CreatedAt: now}); err != nil {
		return err
	}
	return l.audit(ctx, tx, "system:banklink", "link.locked", user.String(), map[string]any{"failures": n, "bank": bank, "step": step, "code": code})
}

// failAudited appends a "link.failed" entry (bank, step, code) and records the failure, in one
// transaction of its own. What is not the attempt's fault (a kill switch pulled meanwhile, the
// bank not answering, a bug here) is audited but not counted towards the lock: it must not lock
// honest customers out. A failure to record is returned nowhere: the outcome stands.
func (l *Linker) failAudited(ctx context.Context, user emoney.ID, bank, step, code string) {
	_ = l.store.Update(context.WithoutCancel(ctx), func(tx emoney.Tx) error {
		if err := l.audit(ctx, tx, "user:"+user.String(), "link.failed", user.String(), map[string]any{"bank": bank, "step": step, "code": code}); err != nil {
			return err
		}
		switch code {
		case emoney.ESuspended, emoney.EBankUnavailable, emoney.EInternal:
			return nil
		}
		return l.failed(ctx, tx, user, bank, step, code)
	})
}

// recheck repeats at the callback what may have changed since Begin: the wallet must still be
// tier 2 and enabled (forbidden otherwise, step "wallet"), and the bank must have granted every
// scope asked for (declined, reason scope_missing, step "scope").
func (l *Linker) recheck(ctx context.Context, user emoney.ID, tok Tokens) (step string, err error) {
	err = l.store.View(ctx, func(tx emoney.ReadTx) error {
		u, err := tx.User(ctx, user)
		if err != nil {
			return err
		}
		if u.KYCTier < kyc.TierVerified {
			return emoney.Errorf(emoney.EForbidden, "linking a bank account needs a verified identity (tier 2)")
		}
		at, err := tx.UserDisabledAt(ctx, user)
		if err != nil {
			return err
		}
		if !at.IsZero() {
			return emoney.Errorf(emoney.EForbidden, "this wallet is disabled")
		}
		return nil
	})
	if err != nil {
		return "wallet", err
	}
	if s := missingScope(tok.Scope); s != "" {
		return "scope", &emoney.Error{Code: emoney.EDeclined, Reason: "scope_missing",
			Message: fmt.Sprintf("the bank did not grant %q, which linking needs: nothing was linked", s)}
	}
	return "", nil
}

// missingScope returns the first scope of LinkScope that granted lacks, or "".
func missingScope(granted []string) string {
	for _, s := range LinkScope {
		if !slices.Contains(granted, s) {
			return s
		}
	}
	return ""
}

// callbackRefused audits a callback whose state names no flow ("link.callback_refused"): a
// replayed or forged callback, or one that came too late. Nothing the caller sent is logged but
// whether it carried a code or an error, and which issuer it named if that is a configured one.
func callbackRefused(ctx context.Context, l *Linker, query url.Values) {
	detail := map[string]any{"code": emoney.ENotFound, "with_code": query.Get("code") != "", "with_error": query.Get("error") != ""}
	for bank, iss := range l.cfg.Issuers {
		if iss == query.Get("iss") {
			detail["bank"] = bank
		}
	}
	l.auditAlone(ctx, "anonymous", "link.callback_refused", "link_flow", detail)
}

// maxExpiredPerBegin bounds how many expired flows one Begin audits (the rest wait for the next).
const maxExpiredPerBegin = 100

// auditExpiredFlows takes the flows that expired without a callback and audits each as
// "link.failed" (step "bank", code "expired"): the customer was stopped at the bank (a wrong
// one-time code, a lockout, an expired request_uri) or gave up, and the bank never sends such a
// customer back, so this is all the wallet sees of it. Not counted towards the lock: an honest
// customer who gives up must not be locked out. Runs in Begin's transaction, before
// SaveLinkFlow would drop them silently.
func (l *Linker) auditExpiredFlows(ctx context.Context, tx emoney.Tx, now time.Time) error {
	fs, err := tx.TakeExpiredLinkFlows(ctx, now, maxExpiredPerBegin)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if err := l.audit(ctx, tx, "system:banklink", "link.failed", f.User.String(), map[string]any{"bank": f.Bank, "step": "bank", "code": "expired",
			"begun_at": f.CreatedAt.UTC().Format(time.RFC3339)}); err != nil {
			return err
		}
	}
	return nil
}
