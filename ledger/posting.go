package ledger

import (
	"math"

	"emoney"
)

// delta is what one transfer record does to one side's balance.
type delta struct{ balance, debitsPending, creditsPending int64 }

// effect is the posting rule: what record tr does to its From and To balances. pendingAmount is
// the amount of the pending transfer that a post or void resolves (unused otherwise). Commit and
// Verify both use it, so the history and the stored balances cannot drift apart by rule.
func effect(tr emoney.Transfer, pendingAmount int64) (from, to delta) {
	switch tr.Kind {
	case emoney.TransferPosted:
		return delta{balance: -tr.Amount}, delta{balance: tr.Amount}
	case emoney.TransferPending:
		return delta{debitsPending: tr.Amount}, delta{creditsPending: tr.Amount}
	case emoney.TransferPost:
		return delta{balance: -tr.Amount, debitsPending: -pendingAmount}, delta{balance: tr.Amount, creditsPending: -pendingAmount}
	case emoney.TransferVoid:
		return delta{debitsPending: -pendingAmount}, delta{creditsPending: -pendingAmount}
	}
	return delta{}, delta{}
}

// add applies d to b, failing if any field would overflow.
func (d delta) addTo(b *emoney.Balance) bool {
	nb, ok1 := addInt(b.Balance, d.balance)
	ndp, ok2 := addInt(b.DebitsPending, d.debitsPending)
	ncp, ok3 := addInt(b.CreditsPending, d.creditsPending)
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	b.Balance, b.DebitsPending, b.CreditsPending = nb, ndp, ncp
	return true
}

func addInt(a, b int64) (int64, bool) {
	c := a + b
	if (b > 0 && c < a) || (b < 0 && c > a) || c == math.MinInt64 {
		return 0, false
	}
	return c, true
}
