package ledger

import (
	"context"
	"fmt"
	"sort"

	"emoney"
)

// Report is what Verify found.
type Report struct {
	Accounts  int                               `json:"accounts"`
	Balances  int                               `json:"balances"`
	Transfers int                               `json:"transfers"`
	Totals    map[emoney.Currency]CurrencyTotal `json:"totals"`
	Problems  []Problem                         `json:"problems"`
}

// CurrencyTotal sums every account's balance in one currency: Balance must be zero and the
// pending debits must equal the pending credits.
type CurrencyTotal struct {
	Balance        int64 `json:"balance"`
	DebitsPending  int64 `json:"debits_pending"`
	CreditsPending int64 `json:"credits_pending"`
}

// Problem is one broken invariant. Account is zero for problems not tied to one account.
type Problem struct {
	Account  emoney.ID       `json:"account,omitzero"`
	Name     string          `json:"name,omitempty"`
	Currency emoney.Currency `json:"currency,omitempty"`
	What     string          `json:"what"`
}

// OK reports whether every invariant held.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks, on one consistent snapshot, the ledger's invariants: in every currency the
// balances sum to zero and pending debits equal pending credits; every stored balance equals what
// the history of transfers adds up to (under the same posting rule commits use); no account with
// FlagNoOverdraft is below zero; every transfer names existing accounts, and every post or void a
// pending transfer, resolved once, for no more than its amount. It returns a report naming every
// account that differs; an error only if the store could not be read.
func (l *Ledger) Verify(ctx context.Context) (Report, error) {
	return Verify(ctx, l.store)
}

// Verify is Ledger.Verify for a store no ledger is running on (the CLI's `ledger verify`).
func Verify(ctx context.Context, store emoney.Store) (Report, error) {
	r := Report{Totals: map[emoney.Currency]CurrencyTotal{}}
	err := store.View(ctx, func(tx emoney.ReadTx) error {
		accounts := map[emoney.ID]emoney.Account{}
		if err := tx.ScanAccounts(ctx, func(a emoney.Account) error {
			accounts[a.ID] = a
			return nil
		}); err != nil {
			return err
		}
		r.Accounts = len(accounts)
		problem := func(id emoney.ID, cur emoney.Currency, format string, args ...any) {
			r.Problems = append(r.Problems, Problem{Account: id, Name: accounts[id].Name, Currency: cur, What: fmt.Sprintf(format, args...)})
		}

		// Replay the history. Posts and voids need their pending transfer's amount; ids are only
		// roughly time-ordered across processes, so those met before their pending wait.
		computed := map[emoney.BalanceKey]*emoney.Balance{}
		get := func(id emoney.ID, cur emoney.Currency) *emoney.Balance {
			k := emoney.BalanceKey{Account: id, Currency: cur}
			b := computed[k]
			if b == nil {
				b = &emoney.Balance{Account: id, Currency: cur}
				computed[k] = b
			}
			return b
		}
		// Each balance's history chain must hold exactly the records that touched it.
		type link struct {
			from, to, fromPrev, toPrev emoney.ID
			amount                     int64
		}
		links := map[emoney.ID]link{}
		touched := map[emoney.BalanceKey]int{}
		pendings := map[emoney.ID]emoney.Transfer{}
		var reversals []emoney.Transfer
		resolvedBy := map[emoney.ID]emoney.ID{}
		var waiting []emoney.Transfer
		post := func(tr emoney.Transfer, pendingAmount int64) {
			from, to := effect(tr, pendingAmount)
			if !from.addTo(get(tr.From, tr.Currency)) || !to.addTo(get(tr.To, tr.Currency)) {
				problem(tr.From, tr.Currency, "history overflows a balance at transfer %s", tr.ID)
			}
		}
		if err := tx.ScanTransfers(ctx, func(tr emoney.Transfer) error {
			r.Transfers++
			links[tr.ID] = link{tr.From, tr.To, tr.FromPrev, tr.ToPrev, tr.Amount}
			if !tr.ReversalOf.IsZero() {
				reversals = append(reversals, tr)
			}
			touched[emoney.BalanceKey{Account: tr.From, Currency: tr.Currency}]++
			touched[emoney.BalanceKey{Account: tr.To, Currency: tr.Currency}]++
			for _, id := range []emoney.ID{tr.From, tr.To} {
				if _, ok := accounts[id]; !ok {
					problem(id, tr.Currency, "transfer %s names an account that does not exist", tr.ID)
				}
			}
			switch tr.Kind {
			case emoney.TransferPosted:
				post(tr, 0)
			case emoney.TransferPending:
				pendings[tr.ID] = tr
				post(tr, 0)
				if !tr.ExpiresAt.IsZero() && !tr.Hold.MayExpire() {
					problem(tr.From, tr.Currency, "pending transfer %s is a %s hold with an expiry: it could be voided by time alone", tr.ID, tr.Hold)
				}
			case emoney.TransferPost, emoney.TransferVoid:
				if prev, dup := resolvedBy[tr.PendingID]; dup {
					problem(tr.From, tr.Currency, "pending transfer %s resolved twice (%s and %s)", tr.PendingID, prev, tr.ID)
				}
				resolvedBy[tr.PendingID] = tr.ID
				waiting = append(waiting, tr)
			default:
				problem(tr.From, tr.Currency, "transfer %s has unknown kind %q", tr.ID, tr.Kind)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, tr := range waiting {
			p, ok := pendings[tr.PendingID]
			switch {
			case !ok:
				problem(tr.From, tr.Currency, "%s %s resolves %s, which is not a pending transfer", tr.Kind, tr.ID, tr.PendingID)
			case p.From != tr.From || p.To != tr.To || p.Currency != tr.Currency || tr.Amount > p.Amount:
				problem(tr.From, tr.Currency, "%s %s does not match pending transfer %s", tr.Kind, tr.ID, p.ID)
			default:
				post(tr, p.Amount)
			}
		}

		reversed := map[emoney.ID]int64{}
		for _, rv := range reversals {
			orig, ok := links[rv.ReversalOf]
			switch {
			case !ok:
				problem(rv.From, rv.Currency, "reversal %s undoes %s, which does not exist", rv.ID, rv.ReversalOf)
			case rv.From != orig.to || rv.To != orig.from:
				problem(rv.From, rv.Currency, "reversal %s does not run back the way %s went", rv.ID, rv.ReversalOf)
			default:
				reversed[rv.ReversalOf] += rv.Amount
				if reversed[rv.ReversalOf] > orig.amount {
					problem(rv.From, rv.Currency, "reversals of %s add up to more than its %d", rv.ReversalOf, orig.amount)
				}
			}
		}

		// Compare with what is stored.
		stored := map[emoney.BalanceKey]bool{}
		if err := tx.ScanBalances(ctx, func(b emoney.Balance) error {
			r.Balances++
			k := emoney.BalanceKey{Account: b.Account, Currency: b.Currency}
			stored[k] = true
			t := r.Totals[b.Currency]
			t.Balance += b.Balance
			t.DebitsPending += b.DebitsPending
			t.CreditsPending += b.CreditsPending
			r.Totals[b.Currency] = t
			a, ok := accounts[b.Account]
			if !ok {
				problem(b.Account, b.Currency, "balance row for an account that does not exist")
			}
			c := get(b.Account, b.Currency)
			if c.Balance != b.Balance || c.DebitsPending != b.DebitsPending || c.CreditsPending != b.CreditsPending {
				problem(b.Account, b.Currency, "stored balance %d (pending out %d, in %d) but history gives %d (pending out %d, in %d)",
					b.Balance, b.DebitsPending, b.CreditsPending, c.Balance, c.DebitsPending, c.CreditsPending)
			}
			n := 0
			for id := b.Last; !id.IsZero() && n <= touched[k]; n++ {
				l, ok := links[id]
				if !ok {
					break
				}
				if l.from == b.Account {
					id = l.fromPrev
				} else {
					id = l.toPrev
				}
			}
			if n != touched[k] {
				problem(b.Account, b.Currency, "history chain holds %d records but %d transfers touched this balance", n, touched[k])
			}
			if a.Flags&emoney.FlagNoOverdraft != 0 && b.Available() < 0 {
				problem(b.Account, b.Currency, "available balance %d is below zero on an account that may not overdraw", b.Available())
			}
			return nil
		}); err != nil {
			return err
		}
		keys := make([]emoney.BalanceKey, 0)
		for k, c := range computed {
			if !stored[k] && (c.Balance != 0 || c.DebitsPending != 0 || c.CreditsPending != 0) {
				keys = append(keys, k)
			}
		}
		sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
		for _, k := range keys {
			c := computed[k]
			problem(k.Account, k.Currency, "no stored balance but history gives %d (pending out %d, in %d)", c.Balance, c.DebitsPending, c.CreditsPending)
		}
		curs := make([]emoney.Currency, 0, len(r.Totals))
		for cur := range r.Totals {
			curs = append(curs, cur)
		}
		sort.Slice(curs, func(i, j int) bool { return curs[i] < curs[j] })
		for _, cur := range curs {
			t := r.Totals[cur]
			if t.Balance != 0 {
				r.Problems = append(r.Problems, Problem{Currency: cur, What: fmt.Sprintf("balances sum to %d, not zero", t.Balance)})
			}
			if t.DebitsPending != t.CreditsPending {
				r.Problems = append(r.Problems, Problem{Currency: cur, What: fmt.Sprintf("pending debits %d differ from pending credits %d", t.DebitsPending, t.CreditsPending)})
			}
		}
		return nil
	})
	return r, err
}
