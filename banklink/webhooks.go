package banklink

// Webhooks from banks (docs/banks.md "Webhooks from banks"; THREATS.md T8): either side can
// unlink and the other is told (DESIGN.md "Bank linking", step 8), and a bank reports debits
// its customer disputes. A webhook is believed only with a good signature of the bank's secret
// inside the replay window; it is recorded once by (bank, event id) in the same transaction
// that acts on it, so a repeat (the bank retries until it gets a 2xx) does nothing, and the
// bank is answered 2xx only once both are committed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"emoney"
)

// MaxWebhookBody bounds a webhook's body.
const MaxWebhookBody = 64 << 10

// Webhook types the wallet acts on.
const (
	EventFraudReport    = "fraud_report"    // the bank's customer disputes a debit
	EventMandateRevoked = "mandate_revoked" // the customer (or the bank) revoked a grant
)

// What came of a webhook (emoney.BankEvent.Outcome, and the outcome label of the metric).
const (
	WebhookRevoked        = "revoked"         // mandate_revoked: the link holding the grant is revoked
	WebhookAlreadyRevoked = "already_revoked" // mandate_revoked: that link was revoked already
	WebhookUnmatched      = "unmatched"       // no link has the grant (or the account): recorded, nothing else
	WebhookHeld           = "review"          // fraud_report: the account's live link is held for review, alerted
	WebhookReported       = "reported"        // fraud_report: recorded and alerted; no live link left to hold
	WebhookIgnored        = "ignored"         // a type the wallet does not act on: recorded
	WebhookDuplicate      = "duplicate"       // an event recorded before: nothing done
)

// Received is what Receive did with a webhook.
type Received struct {
	Type      string
	Outcome   string    // one of the Webhook* outcomes
	Link      emoney.ID // the link it concerned; zero if none
	Duplicate bool
}

// WebhookReceiver acts on the banks' webhooks for a Linker. It is safe for concurrent use.
type WebhookReceiver struct {
	l        *Linker
	received *prometheus.CounterVec
}

// Webhooks returns the receiver of l's banks' webhooks. Make one per Linker: it owns the
// metric Collectors returns.
func (l *Linker) Webhooks() *WebhookReceiver {
	return &WebhookReceiver{l: l, received: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "emoney_bank_webhooks_total",
		Help: "Webhooks received from banks, by type (fraud_report, mandate_revoked, other, unknown: not read) and outcome (" +
			"revoked, already_revoked, unmatched, review, reported, ignored, duplicate; refused: unauthorized, invalid, unknown_bank; failed).",
	}, []string{"type", "outcome"})}
}

// Collectors are the receiver's metrics, for the server's registry.
func (r *WebhookReceiver) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.received}
}

// event is a webhook's body.
type event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Bank      string          `json:"bank"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// fraudReport is the data of a fraud_report.
type fraudReport struct {
	Branch  string    `json:"branch"`
	Account string    `json:"account"`
	EntryID string    `json:"entry_id"`
	Amount  int64     `json:"amount"`
	At      time.Time `json:"at"`
	GrantID string    `json:"grant_id"`
}

// mandateRevoked is the data of a mandate_revoked.
type mandateRevoked struct {
	GrantID   string    `json:"grant_id"`
	RevokedAt time.Time `json:"revoked_at"`
}

var (
	bankID  = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`) // the bank's opaque ids: printable ASCII
	digits  = regexp.MustCompile(`^[0-9]{1,16}$`)
	typeTag = regexp.MustCompile(`^[a-z0-9_.]{1,64}$`)
)

// Receive handles one webhook of bank: the X-Bank-Event-Id and X-Bank-Signature headers and
// the body as sent. In order: the bank must have a webhook secret here (else not_found); the
// signature must be good and inside WebhookWindow (else unauthorized, nothing read further);
// the body must be an event of this bank whose id is the header's (else invalid, naming the
// field). Then, in one transaction: the event is recorded (a repeat is answered Duplicate and
// changes nothing) and acted on —
//
//   - mandate_revoked: the link holding the grant is revoked (RevokedBy "bank"), audited, and
//     its holder told (tellHolderUnlinkedByBank);
//   - fraud_report: the report is kept (emoney.BankFraudReport), an alert "fraud_report" raised
//     naming the link, the wallet, the amount and the bank's entry id, and the account's live
//     link set to review, so no more money moves through it until staff decide;
//   - any other type is recorded and ignored.
//
// Errors: not_found, unauthorized, invalid, too_large (over MaxWebhookBody), internal (nothing
// was recorded: the bank sends it again).
func (r *WebhookReceiver) Receive(ctx context.Context, bank, eventID, signature string, body []byte) (Received, error) {
	typ := "unknown"
	out, err := r.receive(ctx, bank, eventID, signature, body, &typ)
	outcome := out.Outcome
	switch code := emoney.ErrorCode(err); {
	case err == nil:
	case code == emoney.EUnauthorized:
		outcome = "unauthorized"
	case code == emoney.EInvalid || code == emoney.ETooLarge:
		outcome = "invalid"
	case code == emoney.ENotFound:
		outcome = "unknown_bank"
	default:
		outcome = "failed"
	}
	r.received.WithLabelValues(typ, outcome).Inc()
	return out, err
}

func (r *WebhookReceiver) receive(ctx context.Context, bank, eventID, signature string, body []byte, typ *string) (Received, error) {
	secret := r.l.cfg.WebhookSecrets[bank]
	if !bankCode.MatchString(bank) || secret == "" {
		return Received{}, emoney.Errorf(emoney.ENotFound, "no webhooks are taken from this bank")
	}
	if len(body) > MaxWebhookBody {
		return Received{}, emoney.Errorf(emoney.ETooLarge, "a webhook body is at most %d bytes", MaxWebhookBody)
	}
	switch err := VerifyWebhook(secret, signature, body, r.l.cfg.Now()); {
	case errors.Is(err, ErrWebhookStale):
		return Received{}, emoney.Errorf(emoney.EUnauthorized, "the webhook's signature time is more than %v from ours", WebhookWindow)
	case err != nil:
		return Received{}, emoney.Errorf(emoney.EUnauthorized, "the webhook's X-Bank-Signature is missing or wrong")
	}
	var ev event
	if !utf8.Valid(body) || json.Unmarshal(body, &ev) != nil {
		return Received{}, emoney.Errorf(emoney.EInvalid, "the body is not a webhook event (JSON object)")
	}
	switch {
	case !bankID.MatchString(ev.ID):
		return Received{}, emoney.FieldError("id", "the event id is 1 to 128 printable ASCII characters")
	case eventID != "" && eventID != ev.ID:
		return Received{}, emoney.FieldError("X-Bank-Event-Id", "X-Bank-Event-Id is not the event's id")
	case ev.Bank != bank:
		// Signed with this bank's secret but naming another: not this bank's event.
		return Received{}, emoney.FieldError("bank", "the event names another bank than the URL")
	case !typeTag.MatchString(ev.Type):
		return Received{}, emoney.FieldError("type", "the event type is 1 to 64 of a-z, 0-9, _ and .")
	}
	*typ = ev.Type
	if ev.Type != EventFraudReport && ev.Type != EventMandateRevoked {
		*typ = "other"
	}
	act, err := r.action(ev)
	if err != nil {
		return Received{}, err
	}
	now := r.l.cfg.Now()
	var out Received
	var link emoney.BankLink
	err = r.l.store.Update(ctx, func(tx emoney.Tx) error {
		out, link = Received{Type: ev.Type}, emoney.BankLink{}
		recorded, err := tx.RecordBankEvent(ctx, emoney.BankEvent{Bank: bank, EventID: ev.ID, Type: ev.Type, Outcome: "received", ReceivedAt: now})
		if err != nil {
			return err
		}
		if !recorded {
			out.Outcome, out.Duplicate = WebhookDuplicate, true
			return nil
		}
		if out.Outcome, link, err = act(ctx, tx, bank, ev.ID, now); err != nil {
			return err
		}
		out.Link = link.ID
		if err := tx.SetBankEventOutcome(ctx, bank, ev.ID, out.Outcome, link.ID); err != nil {
			return err
		}
		detail := map[string]any{"event": ev.ID, "type": ev.Type, "outcome": out.Outcome}
		if !link.ID.IsZero() {
			detail["link"] = link.ID.String()
		}
		return r.l.audit(ctx, tx, "bank:"+bank, "bank.webhook", "bank:"+bank, detail)
	})
	if err != nil {
		return Received{}, err
	}
	if out.Outcome == WebhookRevoked {
		r.tellHolderUnlinkedByBank(ctx, link)
	}
	return out, nil
}

// actor acts on one recorded event in its transaction and says what came of it.
type actor func(ctx context.Context, tx emoney.Tx, bank, eventID string, now time.Time) (string, emoney.BankLink, error)

// action reads an event's data and returns what acting on it does. Errors: invalid (naming
// the field of data at fault).
func (r *WebhookReceiver) action(ev event) (actor, error) {
	switch ev.Type {
	case EventMandateRevoked:
		var d mandateRevoked
		if json.Unmarshal(ev.Data, &d) != nil || !bankID.MatchString(d.GrantID) {
			return nil, emoney.FieldError("data.grant_id", "a mandate_revoked names the grant (1 to 128 printable ASCII characters)")
		}
		return func(ctx context.Context, tx emoney.Tx, bank, eventID string, now time.Time) (string, emoney.BankLink, error) {
			return r.mandateRevoked(ctx, tx, bank, eventID, d, now)
		}, nil
	case EventFraudReport:
		var d fraudReport
		switch {
		case json.Unmarshal(ev.Data, &d) != nil:
			return nil, emoney.FieldError("data", "a fraud_report's data is an object")
		case !digits.MatchString(d.Branch) || !digits.MatchString(d.Account):
			return nil, emoney.FieldError("data.account", "a fraud_report names the account: branch and number, digits")
		case !bankID.MatchString(d.EntryID):
			return nil, emoney.FieldError("data.entry_id", "a fraud_report names the disputed entry (1 to 128 printable ASCII characters)")
		case emoney.ValidateAmount("data.amount", d.Amount) != nil:
			return nil, emoney.ValidateAmount("data.amount", d.Amount)
		case d.At.IsZero():
			return nil, emoney.FieldError("data.at", "a fraud_report says when the debit was made")
		case d.GrantID != "" && !bankID.MatchString(d.GrantID):
			return nil, emoney.FieldError("data.grant_id", "a grant id is 1 to 128 printable ASCII characters")
		}
		index, err := r.l.keys.Index("bank_account", ev.Bank+":"+d.Branch+":"+d.Account)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, tx emoney.Tx, bank, eventID string, now time.Time) (string, emoney.BankLink, error) {
			return r.fraudReport(ctx, tx, bank, eventID, d, index, now)
		}, nil
	}
	return func(context.Context, emoney.Tx, string, string, time.Time) (string, emoney.BankLink, error) {
		return WebhookIgnored, emoney.BankLink{}, nil
	}, nil
}

// mandateRevoked revokes the link holding the grant. A grant no link holds (never stored, or a
// bank that sends no grant_id at its token endpoint) is unmatched: such a link learns of the
// revocation at its next use, when the bank refuses its token (status reconsent).
func (r *WebhookReceiver) mandateRevoked(ctx context.Context, tx emoney.Tx, bank, eventID string, d mandateRevoked, now time.Time) (string, emoney.BankLink, error) {
	link, err := tx.LinkByGrant(ctx, bank, d.GrantID)
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return WebhookUnmatched, emoney.BankLink{}, nil
	}
	if err != nil {
		return "", emoney.BankLink{}, err
	}
	if link.Status == emoney.LinkRevoked {
		return WebhookAlreadyRevoked, link, nil
	}
	if link, err = tx.RevokeLink(ctx, link.User, link.ID, "bank", now); err != nil {
		return "", emoney.BankLink{}, err
	}
	err = r.l.audit(ctx, tx, "bank:"+bank, "link.revoked", link.ID.String(), map[string]any{"bank": bank, "by": "bank", "event": eventID})
	return WebhookRevoked, link, err
}

// fraudReport keeps the report, holds the account's live link for review and raises an alert.
// The report names the link the debit was pulled under (by grant), else the account's live
// link, else its newest.
func (r *WebhookReceiver) fraudReport(ctx context.Context, tx emoney.Tx, bank, eventID string, d fraudReport, index []byte, now time.Time) (string, emoney.BankLink, error) {
	links, err := tx.LinksByAccount(ctx, index)
	if err != nil {
		return "", emoney.BankLink{}, err
	}
	var pulled, live emoney.BankLink
	for _, l := range links {
		if live.ID.IsZero() && l.Status != emoney.LinkRevoked {
			live = l
		}
		if pulled.ID.IsZero() && d.GrantID != "" && l.GrantID == d.GrantID {
			pulled = l
		}
	}
	switch {
	case !pulled.ID.IsZero():
	case !live.ID.IsZero():
		pulled = live
	case len(links) > 0:
		pulled = links[0]
	}
	rep := emoney.BankFraudReport{ID: r.l.cfg.IDs.NewID(), Bank: bank, EventID: eventID, Link: pulled.ID, User: pulled.User, AccountIndex: index,
		EntryID: d.EntryID, Amount: d.Amount, DebitedAt: d.At.UTC().Truncate(time.Microsecond), Grant: d.GrantID, ReceivedAt: now}
	if err := tx.CreateBankFraudReport(ctx, rep); err != nil {
		return "", emoney.BankLink{}, err
	}
	if pulled.ID.IsZero() {
		err := tx.CreateAlert(ctx, emoney.Alert{ID: r.l.cfg.IDs.NewID(), Kind: "fraud_report", Subject: "bank:" + bank, Status: emoney.AlertOpen, CreatedAt: now,
			Reason: fmt.Sprintf("bank %s reports its entry %s, a debit of %d yen at %s, as not authorised by the account holder; no link of this platform holds the account",
				bank, d.EntryID, d.Amount, d.At.UTC().Format(time.RFC3339))})
		return WebhookUnmatched, emoney.BankLink{}, err
	}
	outcome := WebhookReported
	if live.Status == emoney.LinkActive || live.Status == emoney.LinkReconsent {
		if err := tx.SetLinkStatus(ctx, live.ID, live.Status, emoney.LinkReview); err != nil {
			return "", emoney.BankLink{}, err
		}
		if err := r.l.audit(ctx, tx, "bank:"+bank, "link.review", live.ID.String(),
			map[string]any{"bank": bank, "from": string(live.Status), "why": "fraud_report", "event": eventID}); err != nil {
			return "", emoney.BankLink{}, err
		}
		outcome = WebhookHeld
	}
	held := "no live link of the account was left to hold"
	if outcome == WebhookHeld {
		held = "link " + live.ID.String() + " is held for review"
	} else if !live.ID.IsZero() {
		held = "link " + live.ID.String() + " was in " + string(live.Status) + " already"
	}
	err = tx.CreateAlert(ctx, emoney.Alert{ID: r.l.cfg.IDs.NewID(), Kind: "fraud_report", Subject: "user:" + pulled.User.String(), Status: emoney.AlertOpen, CreatedAt: now,
		Reason: fmt.Sprintf("bank %s reports its entry %s, a debit of %d yen at %s through link %s of wallet:%s, as not authorised by the account holder; %s",
			bank, d.EntryID, d.Amount, d.At.UTC().Format(time.RFC3339), pulled.ID, pulled.User, held)})
	return outcome, pulled, err
}

// tellHolderUnlinkedByBank tells the holder of a link their bank revoked (DESIGN.md step 8:
// "either side can unlink and the other is told"). It runs after the revocation is committed,
// once per revocation (never for a repeated webhook; the dedupe key makes a second call a no-op).
// A failure to tell is audited, not returned: the revocation stands.
func (r *WebhookReceiver) tellHolderUnlinkedByBank(ctx context.Context, link emoney.BankLink) {
	err := r.l.NotifyHolder(context.WithoutCancel(ctx), link, "link_revoked_by_bank", "link:"+link.ID.String()+":revoked_by_bank",
		"your bank withdrew the wallet's access, so this account is unlinked. Link it again in the app if you still want to use it; if you did not ask your bank for this, call us.")
	if err != nil {
		r.l.auditAlone(ctx, "system:banklink", "link.notify_failed", link.ID.String(), map[string]any{"bank": link.Bank, "kind": "link_revoked_by_bank", "code": emoney.ErrorCode(err)})
	}
}
