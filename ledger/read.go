package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"emoney"
)

// AccountSpec describes an account to open.
type AccountSpec struct {
	Name  string // unique: "wallet:…", "bank:0005", "frozen", ...
	Kind  emoney.AccountKind
	Flags emoney.AccountFlags // wallets always get FlagNoOverdraft
}

// OpenAccount opens an account, or returns the existing one of that name if it has the same kind
// and flags (so opening is idempotent). Errors: invalid, conflict (the name is taken by an account
// of another kind or flags), internal.
func (l *Ledger) OpenAccount(ctx context.Context, spec AccountSpec) (emoney.Account, error) {
	as, err := l.OpenAccounts(ctx, []AccountSpec{spec})
	if err != nil {
		return emoney.Account{}, err
	}
	return as[0], nil
}

// OpenAccounts is OpenAccount for many accounts in one transaction: all are opened (or found)
// or none.
func (l *Ledger) OpenAccounts(ctx context.Context, specs []AccountSpec) ([]emoney.Account, error) {
	as, err := l.openAccounts(ctx, specs)
	if emoney.ErrorCode(err) == emoney.EConflict {
		// Another process may have opened one of these names between our look-up and our
		// insert; look again, and it is either the same account or a real conflict.
		as, err = l.openAccounts(ctx, specs)
	}
	return as, err
}

func (l *Ledger) openAccounts(ctx context.Context, specs []AccountSpec) ([]emoney.Account, error) {
	for i := range specs {
		spec := &specs[i]
		if spec.Name == "" || len(spec.Name) > 128 || strings.ContainsRune(spec.Name, ' ') || !cleanText(spec.Name) {
			return nil, emoney.FieldError("name", "account name must be 1 to 128 bytes of UTF-8 text without spaces")
		}
		if !spec.Kind.Valid() {
			return nil, emoney.FieldError("kind", "unknown account kind %q", spec.Kind)
		}
		if spec.Kind == emoney.AccountWallet {
			spec.Flags |= emoney.FlagNoOverdraft
		}
	}
	var out []emoney.Account
	err := l.store.Update(ctx, func(tx emoney.Tx) error {
		out = make([]emoney.Account, len(specs))
		var events []emoney.OutboxEvent
		for i, spec := range specs {
			a, err := tx.AccountByName(ctx, spec.Name)
			switch {
			case err == nil:
				if a.Kind != spec.Kind || a.Flags != spec.Flags {
					return emoney.Errorf(emoney.EConflict, "account %q exists with another kind or flags", spec.Name)
				}
				out[i] = a
				continue
			case emoney.ErrorCode(err) != emoney.ENotFound:
				return err
			}
			a = emoney.Account{ID: l.cfg.IDs.NewID(), Name: spec.Name, Kind: spec.Kind, Flags: spec.Flags,
				CreatedAt: l.cfg.Now().UTC().Truncate(time.Microsecond)}
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
			out[i] = a
			payload, err := json.Marshal(map[string]any{"account": a.ID, "name": a.Name, "kind": a.Kind})
			if err != nil {
				return err
			}
			events = append(events, emoney.OutboxEvent{Topic: TopicAccountOpened, Key: a.Name, Payload: payload, CreatedAt: a.CreatedAt})
		}
		return tx.AppendOutbox(ctx, events)
	})
	return out, err
}

// TopicAccountOpened is the outbox topic of a newly opened account.
const TopicAccountOpened = "ledger.account_opened"

// Account returns the account with the given id (not_found if none). Accounts never change,
// so it answers from memory when it can.
func (l *Ledger) Account(ctx context.Context, id emoney.ID) (emoney.Account, error) {
	if a, ok := l.accounts.get(id); ok {
		return a, nil
	}
	found := map[emoney.ID]emoney.Account{}
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		return l.accounts.load(ctx, tx, []emoney.ID{id}, found)
	})
	if err != nil {
		return emoney.Account{}, err
	}
	a, ok := found[id]
	if !ok {
		return emoney.Account{}, emoney.Errorf(emoney.ENotFound, "account not found")
	}
	return a, nil
}

// AccountByName returns the account with the given name (not_found if none), from memory when it
// can.
func (l *Ledger) AccountByName(ctx context.Context, name string) (a emoney.Account, err error) {
	if a, ok := l.accounts.byName(name); ok {
		return a, nil
	}
	err = l.store.View(ctx, func(tx emoney.ReadTx) error {
		a, err = tx.AccountByName(ctx, name)
		return err
	})
	if err == nil {
		l.accounts.put(a)
	}
	return a, err
}

// Balance returns an account's balance in one currency; an account that never held that
// currency has a zero balance. Errors: not_found (no such account), internal.
func (l *Ledger) Balance(ctx context.Context, account emoney.ID, cur emoney.Currency) (emoney.Balance, error) {
	bal := emoney.Balance{Account: account, Currency: cur}
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		bs, err := tx.Balances(ctx, account)
		if err != nil {
			return err
		}
		for _, b := range bs {
			if b.Currency == cur {
				bal = b
				return nil
			}
		}
		_, err = tx.Account(ctx, account)
		return err
	})
	return bal, err
}

// GetTransfer returns one transfer record (not_found if none).
func (l *Ledger) GetTransfer(ctx context.Context, id emoney.ID) (emoney.Transfer, error) {
	var out emoney.Transfer
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		trs, err := tx.Transfers(ctx, []emoney.ID{id})
		if err != nil {
			return err
		}
		if len(trs) == 0 {
			return emoney.Errorf(emoney.ENotFound, "transfer %s not found", id)
		}
		out = trs[0]
		return nil
	})
	return out, err
}

// Prior returns the records a request under principal's key committed, and whether the key was
// used at all (a request whose transfer is not committed, or a key never used, is false): for a
// caller that asked for something else under a key and got conflict, to tell its own earlier
// attempt (the same movement, decided otherwise) from a reuse. Errors: internal.
func (l *Ledger) Prior(ctx context.Context, principal, key string) ([]emoney.Transfer, bool, error) {
	var out []emoney.Transfer
	var used bool
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		recs, err := tx.Idempotency(ctx, []emoney.IdempotencyKey{{Principal: principal, Key: key}})
		if err != nil || len(recs) == 0 {
			return err
		}
		ids, err := decodeIDs(recs[0].Result)
		if err != nil {
			return err
		}
		if out, err = tx.Transfers(ctx, ids); err != nil {
			return err
		}
		used = len(out) == len(ids)
		return nil
	})
	return out, used, err
}

// History returns the transfer records that touched an account's balance in one currency,
// newest first: at most limit (1 to 1000) of them, starting after the record before (zero: with
// the newest). Pass the last record of one page as before to get the next. Errors: invalid,
// not_found (no such account, or before is not in this history), internal.
func (l *Ledger) History(ctx context.Context, account emoney.ID, cur emoney.Currency, before emoney.ID, limit int) ([]emoney.Transfer, error) {
	if limit <= 0 || limit > 1000 {
		return nil, emoney.FieldError("limit", "limit must be 1 to 1000")
	}
	var out []emoney.Transfer
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		if _, err := tx.Account(ctx, account); err != nil {
			return err
		}
		// prev is the record before tr in this balance's chain.
		prev := func(tr emoney.Transfer) emoney.ID {
			if tr.From == account && tr.Currency == cur {
				return tr.FromPrev
			}
			return tr.ToPrev
		}
		var next emoney.ID
		if before.IsZero() {
			b, err := tx.Balance(ctx, emoney.BalanceKey{Account: account, Currency: cur})
			if err != nil {
				return err
			}
			next = b.Last
		} else {
			trs, err := tx.Transfers(ctx, []emoney.ID{before})
			if err != nil {
				return err
			}
			if len(trs) == 0 || trs[0].Currency != cur || (trs[0].From != account && trs[0].To != account) {
				return emoney.FieldError("before", "transfer %s is not in this account's history", before)
			}
			next = prev(trs[0])
		}
		for !next.IsZero() && len(out) < limit {
			trs, err := tx.Transfers(ctx, []emoney.ID{next})
			if err != nil {
				return err
			}
			if len(trs) == 0 {
				return fmt.Errorf("ledger: history of %s breaks at missing transfer %s", account, next)
			}
			out = append(out, trs[0])
			next = prev(trs[0])
		}
		return nil
	})
	return out, err
}

// ExpirePending voids pending transfers whose expiry has passed, at most limit of them, and
// returns how many it voided. Each void is an ordinary request with a key derived from the
// pending transfer, so several processes sweeping at once void each transfer once.
func (l *Ledger) ExpirePending(ctx context.Context, limit int) (int, error) {
	if limit <= 0 || limit > 10_000 {
		return 0, emoney.FieldError("limit", "limit must be 1 to 10000")
	}
	var due []emoney.Transfer
	err := l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		due, err = tx.ExpiredPending(ctx, l.cfg.Now(), limit)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range due {
		if !p.Hold.MayExpire() { // the store's query says so too; voiding a bank debit loses money
			return n, fmt.Errorf("ledger: pending transfer %s (%s hold) listed as expired", p.ID, p.Hold)
		}
		_, err := l.Transfer(ctx, "system:expiry", "expire:"+p.ID.String(), Op{Kind: emoney.TransferVoid, PendingID: p.ID, Code: "expired"})
		switch emoney.ErrorCode(err) {
		case "":
			n++
		case emoney.EConflict: // posted or voided meanwhile
		default:
			return n, err
		}
	}
	return n, nil
}
