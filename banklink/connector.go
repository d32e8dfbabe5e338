package banklink

// LinkConnector moves money through linked accounts: it is the bank.Connector of top-ups and
// withdrawals made with a link (money.BankOps), reaching each link's bank with that link's
// DPoP-bound tokens.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"emoney"
	"emoney/bank"
)

// ReasonRelink is the decline reason of an operation whose link the bank no longer accepts:
// the link is marked emoney.LinkReconsent and the customer must link again.
const ReasonRelink = "relink_required"

// refreshAhead is how long before its expiry an access token is refreshed rather than used.
const refreshAhead = 30 * time.Second

// LinkConnector implements bank.Connector over bank links. A request's Account is the link's
// id; its Reference (the pending ledger transfer's id) is the bank's Idempotency-Key, so a
// request sent again is answered with the first outcome and moves money once.
//
// Outcomes, as money.BankOps expects them: the bank's success is Succeeded; ErrDeclined is
// Declined with the bank's reason (insufficient_funds, mandate_per_charge, mandate_monthly,
// payee, …); ErrTokenInvalid that a refresh does not cure is Declined with reason
// relink_required, and the link is marked reconsent; everything else (ErrUnavailable, time-outs,
// ErrConflict, ErrProtocol, a link that cannot be read) is an error: the outcome is unknown.
//
// Access tokens are refreshed when they are about to expire (or when the bank refuses one),
// and the rotated tokens saved sealed before they are used. Refreshes of one link are
// serialised within this process; two processes refreshing one link at once may make the bank
// revoke the grant (refresh-token reuse), which then asks the customer to link again. It is
// safe for concurrent use.
type LinkConnector struct {
	linker   *Linker
	refresh  sync.Map // link id → *sync.Mutex
	describe string
	opened   openedTokens
}

// openedTokens keeps the tokens of recently used links opened, by the sealed form they were
// opened from, so that a link's every top-up does not unseal and parse them again: the link is
// still read from the store each time, and a sealed form that changed (a refresh, here or on
// another instance; keys rotate) is opened anew. Bounded: when full, an entry is dropped.
type openedTokens struct {
	mu sync.Mutex
	m  map[emoney.ID]opened
}

type opened struct {
	sealed []byte
	tok    Tokens
}

// maxOpened bounds openedTokens.
const maxOpened = 10_000

func (o *openedTokens) get(link emoney.BankLink) (Tokens, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[link.ID]
	if !ok || !bytes.Equal(e.sealed, link.TokensSealed) {
		return Tokens{}, false
	}
	return e.tok, true
}

func (o *openedTokens) put(link emoney.BankLink, tok Tokens) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[emoney.ID]opened{}
	}
	if _, ok := o.m[link.ID]; !ok && len(o.m) >= maxOpened {
		for id := range o.m { // an arbitrary one
			delete(o.m, id)
			break
		}
	}
	o.m[link.ID] = opened{sealed: bytes.Clone(link.TokensSealed), tok: tok}
}

var _ bank.Connector = (*LinkConnector)(nil)

// Connector returns the connector that moves money through l's links.
func (l *Linker) Connector() *LinkConnector {
	return &LinkConnector{linker: l, describe: "emoney"}
}

// Debit pulls req.Amount from the linked account req.Account names, within the link's mandate.
func (c *LinkConnector) Debit(ctx context.Context, req bank.Request) (bank.Result, error) {
	return c.move(ctx, req, true)
}

// Credit pays req.Amount into the linked account req.Account names.
func (c *LinkConnector) Credit(ctx context.Context, req bank.Request) (bank.Result, error) {
	return c.move(ctx, req, false)
}

// Status cannot ask the bank about a reference: the protocol has no status call, and a bank's
// statement does not carry the wallet's key. It answers bank.ErrUnknownReference, so that the
// reconciler sends the same request again under the same reference: a bank that made the
// movement answers it again (Idempotent-Replayed) without moving money a second time, one that
// never received it judges it now. The reconciler does so only while the hold is undecided and
// younger than half its alert time; after that it stays pending and staff are alerted.
func (c *LinkConnector) Status(context.Context, string) (bank.Result, error) {
	return bank.Result{}, bank.ErrUnknownReference
}

func (c *LinkConnector) move(ctx context.Context, req bank.Request, debit bool) (bank.Result, error) {
	id, err := emoney.ParseID(req.Account)
	if err != nil {
		return bank.Result{}, errors.New("banklink: the request names no link")
	}
	link, tok, err := c.tokens(ctx, id, false)
	if err != nil {
		return c.outcome(ctx, link, req, err)
	}
	call := func(t Tokens) error {
		if debit {
			_, err := c.linker.wallet.Debit(ctx, t, req.Reference, req.Amount, link.MandatePayee, c.describe)
			return err
		}
		_, err := c.linker.wallet.Credit(ctx, t, req.Reference, req.Amount, c.describe)
		return err
	}
	err = call(tok)
	if errors.Is(err, ErrTokenInvalid) && tok.Refresh != "" {
		// The bank may have ended the access token early: one refresh, then the same request
		// (same key) again.
		if _, tok, err = c.tokens(ctx, id, true); err == nil {
			err = call(tok)
		}
	}
	return c.outcome(ctx, link, req, err)
}

// outcome maps the client's typed errors to a bank.Result or an unknown outcome. A refused token
// proves nothing moved only on a first send: on a re-send the bank may have moved the money under
// the reference before the token stopped working (it checks the token before the key), so the
// outcome stays unknown and the hold pending, for staff to settle from the bank's statement.
func (c *LinkConnector) outcome(ctx context.Context, link emoney.BankLink, req bank.Request, err error) (bank.Result, error) {
	var e *emoney.Error
	switch {
	case err == nil:
		return bank.Result{Outcome: bank.Succeeded}, nil
	case errors.Is(err, ErrDeclined) && errors.As(err, &e):
		reason := e.Reason
		if reason == "" {
			reason = e.Code
		}
		return bank.Result{Outcome: bank.Declined, Reason: bank.CleanReason(reason)}, nil
	case errors.Is(err, ErrTokenInvalid):
		if !link.ID.IsZero() && link.Status == emoney.LinkActive {
			err := c.linker.store.Update(context.WithoutCancel(ctx), func(tx emoney.Tx) error {
				if err := tx.SetLinkStatus(ctx, link.ID, emoney.LinkActive, emoney.LinkReconsent); err != nil {
					return err
				}
				return c.linker.audit(ctx, tx, "system:banklink", "link.reconsent", link.ID.String(), map[string]any{"bank": link.Bank})
			})
			if err != nil && emoney.ErrorCode(err) != emoney.ENotFound {
				return bank.Result{}, err // not marked: unknown, the reconciler asks again
			}
		}
		if req.Resend {
			return bank.Result{}, fmt.Errorf("banklink: the bank refused the link's token on a re-send of %s: the outcome is unknown", req.Reference)
		}
		return bank.Result{Outcome: bank.Declined, Reason: ReasonRelink}, nil
	}
	return bank.Result{}, err
}

// tokens opens link id's tokens, refreshing them (and saving the rotated ones sealed) when they
// are about to expire, or when force is set.
func (c *LinkConnector) tokens(ctx context.Context, id emoney.ID, force bool) (emoney.BankLink, Tokens, error) {
	link, tok, err := c.read(ctx, id)
	if err != nil || (!force && !c.expiring(tok)) {
		return link, tok, err
	}
	mu, _ := c.refresh.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	// Another call may have refreshed meanwhile: read again, and use what it saved.
	fresh, tok2, err := c.read(ctx, id)
	if err != nil {
		return link, tok, err
	}
	if tok2.Access != tok.Access && !c.expiring(tok2) {
		return fresh, tok2, nil
	}
	if tok2.Refresh == "" {
		return fresh, tok2, fail(ErrTokenInvalid, emoney.EDeclined, ReasonReconsent, "", "the link's access token expired and it has no refresh token")
	}
	nt, err := c.linker.wallet.Refresh(ctx, tok2)
	if err != nil {
		return fresh, tok2, err
	}
	raw, err := json.Marshal(nt)
	if err != nil {
		return fresh, tok2, err
	}
	sealed, err := c.linker.keys.Seal(raw, "link:"+id.String()+":tokens")
	if err != nil {
		return fresh, tok2, err
	}
	// Saved before use: a rotated refresh token that were lost would end the grant.
	if err := c.linker.store.Update(context.WithoutCancel(ctx), func(tx emoney.Tx) error {
		return tx.SaveLinkTokens(ctx, id, sealed)
	}); err != nil {
		return fresh, tok2, err
	}
	fresh.TokensSealed = sealed
	return fresh, nt, nil
}

func (c *LinkConnector) expiring(t Tokens) bool {
	return !t.ExpiresAt.IsZero() && !c.linker.cfg.Now().Add(refreshAhead).Before(t.ExpiresAt)
}

func (c *LinkConnector) read(ctx context.Context, id emoney.ID) (emoney.BankLink, Tokens, error) {
	var link emoney.BankLink
	err := c.linker.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		link, err = tx.Link(ctx, id)
		return err
	})
	if err != nil {
		return link, Tokens{}, fmt.Errorf("%w: reading link %s: %w", bank.ErrNotSent, id, err)
	}
	if tok, ok := c.opened.get(link); ok {
		return link, tok, nil
	}
	tok, err := c.linker.Tokens(link)
	if err != nil {
		return link, tok, fmt.Errorf("%w: opening the tokens of link %s: %w", bank.ErrNotSent, id, err)
	}
	c.opened.put(link, tok)
	return link, tok, nil
}
