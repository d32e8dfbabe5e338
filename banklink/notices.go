package banklink

// Telling the bank (shared/DESIGN.md "Bank linking", steps 6–8): link_created, link_refused and
// unlinked go to the bank's partner-notification endpoint (docs/banks.md). A notice is written
// to the bank_notices outbox in the same transaction as the change it tells of, claimed there
// for a short lease, and sent right after the commit; if that fails (the bank is down, the
// process dies) DeliverBankNotices, run by the sweeper, sends it again with backoff until the
// bank answers 2xx, and gives up after NoticeGiveUp with an alert. The bank deduplicates on the
// event id ("evt_" + the notice's id), so a notice sent twice is recorded once.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"emoney"
)

// BankNotices is where and how the wallet tells one bank about links: the bank's
// partner-notification URL, the wallet's client_id there, and the secret (the client's
// webhook secret at the bank) that signs every notice.
type BankNotices struct {
	URL      string
	ClientID string
	Secret   string
}

// Delivery of bank notices: the lease of an attempt, the first retry delay (doubling, at most
// noticeMaxDelay), and how long a notice is retried before it is given up with an alert.
const (
	noticeLease    = time.Minute
	noticeFirst    = 30 * time.Second
	noticeMaxDelay = time.Hour
	NoticeGiveUp   = 24 * time.Hour
	noticeBatch    = 100
)

// Kinds of bank notices (banksim.NotificationKinds).
const (
	NoticeLinkCreated = "link_created"
	NoticeLinkRefused = "link_refused"
	NoticeUnlinked    = "unlinked"
)

// told gathers what a transaction tells, to send once it has committed. A store may run a
// transaction's function more than once: reset it at the top of the function.
type told struct {
	holders []emoney.Notification
	banks   []emoney.BankNotice
}

func (t *told) reset() { t.holders, t.banks = nil, nil }

// queueBankNotice writes a notice to bank in tx, claimed for an attempt right after the
// commit. account ("branch-number", "" for none) is sealed. A bank without BankNotices
// configured is told nothing.
func (l *Linker) queueBankNotice(ctx context.Context, tx emoney.Tx, t *told, bank, kind, account, detail string) error {
	if _, ok := l.cfg.Notices[bank]; !ok {
		return nil
	}
	now := l.cfg.Now()
	n := emoney.BankNotice{ID: l.cfg.IDs.NewID(), Bank: bank, Kind: kind, Detail: detail, Status: emoney.DeliveryPending,
		Claim: l.cfg.IDs.NewID(), NextAt: now.Add(noticeLease), CreatedAt: now}
	if account != "" {
		var err error
		if n.AccountSealed, err = l.keys.Seal([]byte(account), noticeBinding(n.ID)); err != nil {
			return err
		}
	}
	if err := tx.CreateBankNotice(ctx, n); err != nil {
		return err
	}
	t.banks = append(t.banks, n)
	return nil
}

func noticeBinding(id emoney.ID) string { return "banknotice:" + id.String() + ":account" }

// flush sends, after the commit, what a transaction told: holders through the channel, banks
// through one attempt each (what fails is retried by DeliverBankNotices).
func (l *Linker) flush(ctx context.Context, t *told) {
	ctx = context.WithoutCancel(ctx)
	if l.cfg.Holders != nil && len(t.holders) > 0 {
		_ = l.cfg.Holders.Send(ctx, t.holders...)
	}
	for _, n := range t.banks {
		_, _ = l.attempt(ctx, n, l.cfg.Now())
	}
	t.reset()
}

// NoticeStats is what one DeliverBankNotices pass did.
type NoticeStats struct {
	Delivered, Retrying, GivenUp int
}

// DeliverBankNotices sends the bank notices due at now (first attempts that failed or were
// never made, retries), up to a few hundred a pass. Several instances may run it at once:
// each notice is claimed by one. Errors: internal (the store).
func (l *Linker) DeliverBankNotices(ctx context.Context, now time.Time) (NoticeStats, error) {
	var st NoticeStats
	for range 3 {
		var ns []emoney.BankNotice
		claim := l.cfg.IDs.NewID()
		if err := l.store.Update(ctx, func(tx emoney.Tx) error {
			var err error
			ns, err = tx.ClaimBankNotices(ctx, claim, now, now.Add(noticeLease), noticeBatch)
			return err
		}); err != nil {
			return st, err
		}
		for _, n := range ns {
			got, err := l.attempt(ctx, n, now)
			if err != nil {
				return st, err
			}
			switch got {
			case emoney.DeliveryDelivered:
				st.Delivered++
			case emoney.DeliveryFailed:
				st.GivenUp++
			case emoney.DeliveryPending:
				st.Retrying++
			}
		}
		if len(ns) < noticeBatch {
			break
		}
	}
	return st, nil
}

// attempt sends one claimed notice and records the outcome: delivered on 2xx; otherwise
// pending again after a backoff, or failed (with an alert) once it is older than NoticeGiveUp.
// It returns the status recorded ("" if the claim had run out and another holds the notice);
// the error is the store's: the bank's answer is recorded, not returned.
func (l *Linker) attempt(ctx context.Context, n emoney.BankNotice, now time.Time) (emoney.DeliveryStatus, error) {
	status, sendErr := l.send(ctx, n)
	o := emoney.DeliveryOutcome{ID: n.ID, Claim: n.Claim, LastStatus: status, At: now}
	if sendErr == nil {
		o.Status = emoney.DeliveryDelivered
	} else {
		o.LastError = sendErr.Error()
		o.Status, o.NextAt = emoney.DeliveryPending, now.Add(noticeBackoff(n.Attempts+1))
		if now.Sub(n.CreatedAt) >= NoticeGiveUp {
			o.Status = emoney.DeliveryFailed
		}
	}
	recorded := o.Status
	err := l.store.Update(ctx, func(tx emoney.Tx) error {
		recorded = o.Status
		if err := tx.RecordBankNotice(ctx, o); err != nil {
			if emoney.ErrorCode(err) == emoney.EConflict {
				recorded = "" // the lease ran out and another claim has it now
				return nil
			}
			return err
		}
		if o.Status != emoney.DeliveryFailed {
			return nil
		}
		return tx.CreateAlert(ctx, emoney.Alert{ID: l.cfg.IDs.NewID(), Kind: "bank_notice_failed", Subject: "bank:" + n.Bank, Status: emoney.AlertOpen, CreatedAt: now,
			Reason: fmt.Sprintf("notice %s (%s) to bank %s undelivered after %d attempts over %s: %s", n.ID, n.Kind, n.Bank, n.Attempts+1, NoticeGiveUp, o.LastError)})
	})
	return recorded, err
}

// noticeBackoff is the delay before attempt number attempts+1: 30 s, doubling, at most an hour.
func noticeBackoff(attempts int) time.Duration {
	d := noticeFirst
	for i := 1; i < attempts && d < noticeMaxDelay; i++ {
		d *= 2
	}
	return min(d, noticeMaxDelay)
}

// partnerNotification is the body the bank's endpoint takes (docs/banksim.md).
type partnerNotification struct {
	ID      string `json:"id"`
	Client  string `json:"client_id"`
	Bank    string `json:"bank"`
	Type    string `json:"type"`
	Account string `json:"account,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// send POSTs one notice, signed; it returns the HTTP status (0: no answer) and why it did not
// count as delivered. Errors name no secret and no account.
func (l *Linker) send(ctx context.Context, n emoney.BankNotice) (int, error) {
	cfg, ok := l.cfg.Notices[n.Bank]
	if !ok {
		return 0, fmt.Errorf("bank %s: no partner-notification endpoint configured", n.Bank)
	}
	body := partnerNotification{ID: "evt_" + n.ID.String(), Client: cfg.ClientID, Bank: n.Bank, Type: n.Kind, Detail: n.Detail}
	if n.AccountSealed != nil {
		raw, err := l.keys.Open(n.AccountSealed, noticeBinding(n.ID))
		if err != nil {
			return 0, fmt.Errorf("bank notice %s: the sealed account does not open", n.ID)
		}
		body.Account = string(raw)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(raw))
	if err != nil {
		return 0, fmt.Errorf("bank %s: partner-notification URL: %w", n.Bank, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Partner-Signature", signNotice(cfg.Secret, raw, l.cfg.Now()))
	c := l.cfg.NoticeClient
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("bank %s: no answer", n.Bank)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("bank %s answered %d", n.Bank, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// signNotice is the X-Partner-Signature header: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
func signNotice(secret string, body []byte, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
