// Package payees keeps each customer's list of saved wallets (payees), with a nickname of their
// own. The nickname is personal data, sealed with package pii; the wallet stays in the clear for
// the risk engine's "first-time payee" and "payee added" features. Adding one emits a
// payee.added event in the same transaction.
package payees

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"emoney"
	"emoney/identity"
	"emoney/ledger"
	"emoney/pii"
)

// TopicAdded is the outbox topic of a new payee. Its payload names the payee, the user and the
// wallet, never the nickname.
const TopicAdded = "payee.added"

// MaxNickname is the longest nickname, in characters.
const MaxNickname = 40

// Payee is a payee as its owner sees it: the nickname opened.
type Payee struct {
	ID       emoney.ID
	Wallet   emoney.ID
	Nickname string
	AddedAt  time.Time
}

// Service keeps payee lists. It is safe for concurrent use.
type Service struct {
	store    emoney.Store
	keys     *pii.Keys
	ledger   *ledger.Ledger
	identity *identity.Service
	now      func() time.Time
	ids      emoney.IDSource
}

// New returns the service; now nil means time.Now.
func New(store emoney.Store, keys *pii.Keys, l *ledger.Ledger, ids *identity.Service, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, keys: keys, ledger: l, identity: ids, now: now, ids: &emoney.Monotonic{Now: now}}
}

func binding(id emoney.ID) string { return "payee:" + id.String() + ":nickname" }

// cleanNickname trims a nickname and checks it is 1 to MaxNickname characters of text: no
// control or format characters (bidi overrides and zero-width characters could make a list
// read otherwise than it is), no line breaks, no private-use or unassigned code points.
func cleanNickname(s string) (string, error) {
	bad := emoney.FieldError("nickname", "nickname must be 1 to %d characters of plain text", MaxNickname)
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > MaxNickname || !utf8.ValidString(s) {
		return "", bad
	}
	for _, r := range s {
		// Letters, marks, digits, punctuation, symbols and spaces: that leaves out controls,
		// format characters, line separators, private use, surrogates and unassigned points.
		if r == utf8.RuneError || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) {
			return "", bad
		}
	}
	return s, nil
}

// Add saves wallet as a payee of p's user under nickname. Errors: invalid (wallet: no such
// wallet, or the user's own; nickname), conflict (the wallet is a payee already),
// limit_exceeded (emoney.MaxPayees reached, reason "payees"), internal.
func (s *Service) Add(ctx context.Context, p identity.Principal, wallet emoney.ID, nickname string) (Payee, error) {
	nickname, err := cleanNickname(nickname)
	if err != nil {
		return Payee{}, err
	}
	a, err := s.ledger.Account(ctx, wallet)
	if err != nil || a.Kind != emoney.AccountWallet {
		if err != nil && emoney.ErrorCode(err) != emoney.ENotFound {
			return Payee{}, err
		}
		return Payee{}, emoney.FieldError("wallet", "no wallet %s", wallet)
	}
	own, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return Payee{}, err
	}
	if own.ID == wallet {
		return Payee{}, emoney.FieldError("wallet", "your own wallet cannot be your payee")
	}
	row := emoney.Payee{ID: s.ids.NewID(), User: p.User, Wallet: wallet, AddedAt: s.now().UTC().Truncate(time.Microsecond)}
	if row.NicknameSealed, err = s.keys.Seal([]byte(nickname), binding(row.ID)); err != nil {
		return Payee{}, err
	}
	payload, err := json.Marshal(map[string]any{"payee": row.ID, "user": row.User, "wallet": row.Wallet, "added_at": row.AddedAt})
	if err != nil {
		return Payee{}, err
	}
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := tx.CreatePayee(ctx, row, emoney.MaxPayees); err != nil {
			return err
		}
		return tx.AppendOutbox(ctx, []emoney.OutboxEvent{{Topic: TopicAdded, Key: "user:" + p.User.String(), Payload: payload, CreatedAt: row.AddedAt}})
	})
	switch emoney.ErrorCode(err) {
	case "":
		return Payee{ID: row.ID, Wallet: wallet, Nickname: nickname, AddedAt: row.AddedAt}, nil
	case emoney.EConflict:
		return Payee{}, &emoney.Error{Code: emoney.EConflict, Field: "wallet", Message: "this wallet is one of your payees already"}
	case emoney.ELimitExceeded:
		return Payee{}, &emoney.Error{Code: emoney.ELimitExceeded, Field: "wallet", Reason: "payees",
			Message: fmt.Sprintf("you can keep at most %d payees: delete one first", emoney.MaxPayees)}
	}
	return Payee{}, err
}

// List returns up to limit (1 to 200) of p's payees, newest first, added before the payee
// before (zero: from the newest). Errors: invalid (limit), internal.
func (s *Service) List(ctx context.Context, p identity.Principal, before emoney.ID, limit int) ([]Payee, error) {
	if limit < 1 || limit > 200 {
		return nil, emoney.FieldError("limit", "limit must be 1 to 200")
	}
	var rows []emoney.Payee
	if err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		rows, err = tx.Payees(ctx, p.User, before, limit)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]Payee, len(rows))
	for i, r := range rows {
		nick, err := s.keys.Open(r.NicknameSealed, binding(r.ID))
		if err != nil {
			return nil, err
		}
		out[i] = Payee{ID: r.ID, Wallet: r.Wallet, Nickname: string(nick), AddedAt: r.AddedAt}
	}
	return out, nil
}

// Delete removes one of p's payees; anyone else's does not exist for p. Errors: not_found,
// internal.
func (s *Service) Delete(ctx context.Context, p identity.Principal, id emoney.ID) error {
	err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.DeletePayee(ctx, p.User, id) })
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return emoney.Errorf(emoney.ENotFound, "no such payee")
	}
	return err
}

// Reseal seals every payee's nickname again under the keyset's current key, after a rotation
// (see identity.Service.Reseal: the same rules). It returns how many it resealed.
func Reseal(ctx context.Context, store emoney.Store, keys *pii.Keys) (int, error) {
	n := 0
	err := identity.EachUser(ctx, store, func(u emoney.User) error {
		var before emoney.ID
		for {
			var page []emoney.Payee
			if err := store.View(ctx, func(tx emoney.ReadTx) error {
				var err error
				page, err = tx.Payees(ctx, u.ID, before, 200)
				return err
			}); err != nil {
				return err
			}
			for _, p := range page {
				sealed, err := keys.Reseal(p.NicknameSealed, binding(p.ID))
				if err != nil {
					return err
				}
				if err := store.Update(ctx, func(tx emoney.Tx) error { return tx.ResealPayee(ctx, p.ID, sealed) }); err != nil {
					return err
				}
				n++
			}
			if len(page) < 200 {
				return nil
			}
			before = page[len(page)-1].ID
		}
	})
	return n, err
}
