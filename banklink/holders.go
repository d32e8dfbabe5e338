package banklink

// Telling the holder (shared/DESIGN.md "Bank linking", steps 6–8): what the wallet says to its
// customer about their links, through notify.Service (the store is the record, the channel best
// effort). Texts name the bank and the account's last three digits, nothing else personal.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"emoney"
	"emoney/notify"
)

// Holder notification kinds.
const (
	NotifyLinkCreated    = "link_created"
	NotifyAttemptRefused = "link_attempt_refused"
	NotifyUnlinked       = "link_unlinked"
	NotifyReconsentSoon  = "reconsent_soon"
	NotifyReconsentDue   = "reconsent_due"
)

// jst is Asia/Tokyo (no daylight saving), for dates customers read.
var jst = time.FixedZone("JST", 9*60*60)

func jstTime(t time.Time) string { return t.In(jst).Format("2006-01-02 15:04") + " (Japan time)" }

// accountName is how a notification names an account: "Bank X account ****123".
func (l *Linker) accountName(bank, last string) string {
	name := l.cfg.BankNames[bank]
	if name == "" {
		name = "bank " + bank
	}
	if last == "" {
		return name + " account"
	}
	return name + " account ****" + last
}

// noteHolder records, in tx, a notification to user, to send once tx commits (flush). Without
// a notify.Service configured nobody is told.
func (l *Linker) noteHolder(ctx context.Context, tx emoney.Tx, t *told, m notify.Message) error {
	if l.cfg.Holders == nil {
		return nil
	}
	n, ok, err := l.cfg.Holders.Record(ctx, tx, m)
	if ok {
		t.holders = append(t.holders, n)
	}
	return err
}

// linkedText is what the holder is told of a new link.
func (l *Linker) linkedText(link emoney.BankLink, last string) string {
	what := "was linked to your wallet"
	if link.Status == emoney.LinkReview {
		what = "was linked to your wallet, pending a check by our staff"
	}
	return fmt.Sprintf("%s %s. Top-ups are capped low until %s. If this was not you, unlink it in the app and call us.",
		l.accountName(link.Bank, last), what, jstTime(link.CoolingOffUntil))
}

// linkAccount opens a link's sealed account (branch and number).
func (l *Linker) linkAccount(link emoney.BankLink) (account, error) {
	raw, err := l.keys.Open(link.AccountSealed, "link:"+link.ID.String()+":account")
	if err != nil {
		return account{}, err
	}
	var a account
	if err := json.Unmarshal(raw, &a); err != nil {
		return account{}, fmt.Errorf("banklink: sealed account: %w", err)
	}
	return a, nil
}

// NotifyHolder tells the holder of link something about it, once per dedupe key: the text
// is "<bank> account ****123: " followed by what. It is the entry point for whoever changes a
// link outside this file — a bank's webhook (mandate revoked), staff releasing or rejecting a
// link under review — and is recorded in a transaction of its own, then sent. Kinds are short
// snake_case words ("link_released", "mandate_revoked"). Errors: invalid for an empty kind,
// dedupe key or text; internal.
func (l *Linker) NotifyHolder(ctx context.Context, link emoney.BankLink, kind, dedupe, what string) error {
	_, err := l.notifyHolder(ctx, link, kind, dedupe, what)
	return err
}

// notifyHolder is NotifyHolder, also saying whether the notification is new.
func (l *Linker) notifyHolder(ctx context.Context, link emoney.BankLink, kind, dedupe, what string) (bool, error) {
	if l.cfg.Holders == nil {
		return false, nil
	}
	a, err := l.linkAccount(link)
	if err != nil {
		return false, err
	}
	return l.cfg.Holders.Notify(ctx, notify.Message{User: link.User, Kind: kind, Dedupe: dedupe,
		Text: l.accountName(link.Bank, last3(a.Number)) + ": " + what})
}

// TellBank writes, in tx (the transaction that changes link), a notice of kind (link_created,
// link_refused, unlinked; fraud_found too) to link's bank naming its account, and returns a
// function to call once tx has committed, which sends it at once (the sweeper retries what
// fails). For others' link changes (a bank's webhook, staff decisions). Errors: internal.
func (l *Linker) TellBank(ctx context.Context, tx emoney.Tx, link emoney.BankLink, kind, detail string) (func(), error) {
	var t told
	a, err := l.linkAccount(link)
	if err != nil {
		return func() {}, err
	}
	if err := l.queueBankNotice(ctx, tx, &t, link.Bank, kind, a.Branch+"-"+a.Number, detail); err != nil {
		return func() {}, err
	}
	return func() { l.flush(ctx, &t) }, nil
}
