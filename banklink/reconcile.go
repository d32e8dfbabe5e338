package banklink

// Reconciliation of the ledger with the banks' settlement statements (emoney reconcile): every
// top-up and withdrawal through a link is a pending ledger transfer whose id is the
// Idempotency-Key of the bank's debit or credit (LinkConnector), so the two sides are matched
// by that key.

import (
	"context"
	"fmt"
	"sort"
	"time"

	"emoney"
)

// Kinds of Difference.
const (
	// DiffMissingInLedger: the bank moved money under a key the ledger has no transfer for.
	DiffMissingInLedger = "missing_in_ledger"
	// DiffVoidInLedger: the bank moved money, the ledger voided the hold.
	DiffVoidInLedger = "void_in_ledger"
	// DiffMissingAtBank: the ledger posted a transfer the bank's statement does not show.
	DiffMissingAtBank = "missing_at_bank"
	// DiffAmount: both sides moved money under the key, not the same amount (or direction).
	DiffAmount = "amount_differs"
	// DiffPendingSettled: the bank moved the money, the ledger still holds it pending; the
	// server's reconciler sends the request again under the same key and posts it.
	DiffPendingSettled = "pending_settled_at_bank"
	// DiffBankUnreadable: the bank's statement could not be read; nothing at that bank was compared.
	DiffBankUnreadable = "bank_unreadable"
)

// Difference is one disagreement between the ledger and a bank, naming the operation (the
// pending transfer's id, which is the bank's Idempotency-Key).
type Difference struct {
	Kind         string    `json:"kind"`
	Bank         string    `json:"bank"`
	Operation    string    `json:"operation,omitempty"`  // the pending transfer's id = the Idempotency-Key
	OpKind       string    `json:"op_kind,omitempty"`    // "topup" or "withdrawal" (ledger), "debit" or "credit" (bank)
	BankEntry    string    `json:"bank_entry,omitempty"` // the bank's statement entry
	LedgerAmount int64     `json:"ledger_amount"`
	BankAmount   int64     `json:"bank_amount"`
	At           time.Time `json:"at,omitzero"`
	Note         string    `json:"note"`
}

// ReconcileReport is what Reconcile found.
type ReconcileReport struct {
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	Banks       []string     `json:"banks"`
	BankEntries int          `json:"bank_entries"`
	LedgerOps   int          `json:"ledger_operations"`
	Matched     int          `json:"matched"`
	Differences []Difference `json:"differences"`
}

// OK reports whether the ledger and the banks agree.
func (r ReconcileReport) OK() bool { return len(r.Differences) == 0 }

// ReconcileSlack is how far outside the period each side is read to find the other side of an
// operation made near the period's edges (the ledger holds before the bank moves; a re-send
// may reach the bank much later).
const ReconcileSlack = 24 * time.Hour

// ReconcileConfig says what Reconcile compares.
type ReconcileConfig struct {
	// Issuers are the banks' issuers by code (configured in the Wallet's ClientIDs). A bank the
	// ledger has operations at but that is not here is reported (DiffBankUnreadable).
	Issuers map[string]string
	// LedgerBanksOnly compares only the banks the ledger has operations at in the period (the
	// simulator's many banks in development); otherwise every bank of Issuers is read too, so
	// that money a bank moved without the ledger knowing is found.
	LedgerBanksOnly bool
	// Bank, if set, is the only bank compared.
	Bank string
	// From and To are the period: operations created at or after From and before To.
	From, To time.Time
}

// MaxReconcilePeriod is the longest period one Reconcile covers.
const MaxReconcilePeriod = 90 * 24 * time.Hour

// Reconcile compares the ledger's operations through links in the period with the banks'
// statements and reports every difference. Errors: invalid (field period) for a period that is
// empty or longer than MaxReconcilePeriod; what the store returns. A bank that cannot be read is
// a Difference, not an error.
func Reconcile(ctx context.Context, store emoney.Store, w *Wallet, cfg ReconcileConfig) (ReconcileReport, error) {
	issuers, only, from, to := cfg.Issuers, cfg.Bank, cfg.From, cfg.To
	r := ReconcileReport{From: from.UTC(), To: to.UTC(), Banks: []string{}, Differences: []Difference{}}
	if !from.Before(to) || to.Sub(from) > MaxReconcilePeriod {
		return r, emoney.FieldError("period", "the period must start before it ends and last at most %d days", int(MaxReconcilePeriod/(24*time.Hour)))
	}
	// The ledger side, read once: operations in the period (with slack), their links' banks,
	// their transfers and resolutions.
	led, err := readLedger(ctx, store, from.Add(-ReconcileSlack), to.Add(ReconcileSlack))
	if err != nil {
		return r, err
	}
	codes := map[string]bool{}
	if !cfg.LedgerBanksOnly {
		for code := range issuers {
			codes[code] = true
		}
	}
	for _, o := range led.ops {
		codes[o.bank] = true
	}
	for code := range codes {
		if only == "" || code == only {
			r.Banks = append(r.Banks, code)
		}
	}
	sort.Strings(r.Banks)
	inPeriod := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	for _, code := range r.Banks {
		for _, o := range led.ops {
			if o.bank == code && inPeriod(o.op.CreatedAt) {
				r.LedgerOps++
			}
		}
		iss, ok := issuers[code]
		if !ok {
			r.Differences = append(r.Differences, Difference{Kind: DiffBankUnreadable, Bank: code, Note: "the ledger has operations at this bank, which is not configured"})
			continue
		}
		st, err := w.Statement(ctx, iss, from.Add(-ReconcileSlack), to.Add(ReconcileSlack))
		if err != nil {
			r.Differences = append(r.Differences, Difference{Kind: DiffBankUnreadable, Bank: code, Note: "the bank's statement cannot be read: " + emoney.ErrorMessage(err)})
			continue
		}
		seen := map[string]bool{}
		for _, e := range st.Entries {
			seen[e.IdempotencyKey] = true
			o, known := led.byKey[e.IdempotencyKey]
			if !known && inPeriod(e.At) {
				// Made far from when the bank moved it (a late re-send): read it by its key.
				if o, err = readOne(ctx, store, e.IdempotencyKey); err != nil {
					return r, err
				}
				known = o != nil
			}
			if !inPeriod(e.At) && !(known && inPeriod(o.op.CreatedAt)) {
				continue // outside the period on both sides: another run's business
			}
			r.BankEntries++
			d := Difference{Bank: code, Operation: e.IdempotencyKey, OpKind: e.Kind, BankEntry: e.ID, BankAmount: e.Amount, At: e.At}
			switch {
			case !known || o.pending.ID.IsZero():
				d.Kind, d.Note = DiffMissingInLedger, fmt.Sprintf("the bank %sed %d yen under this key; the ledger has no such operation", e.Kind, e.Amount)
			case o.bank != code:
				d.Kind, d.Note = DiffMissingInLedger, "the ledger made this operation at bank "+o.bank
			default:
				d.LedgerAmount, d.OpKind = o.pending.Amount, o.op.Kind
				want := "debit"
				if o.op.Kind != "topup" {
					want = "credit"
				}
				switch {
				case want != e.Kind:
					d.Kind, d.Note = DiffAmount, fmt.Sprintf("the ledger's %s is a bank %s, the bank made a %s", o.op.Kind, want, e.Kind)
				case o.resolution.Kind == emoney.TransferVoid:
					d.Kind, d.Note = DiffVoidInLedger, fmt.Sprintf("the bank %sed %d yen; the ledger voided the hold", e.Kind, e.Amount)
				case o.resolution.Kind == emoney.TransferPost:
					d.LedgerAmount = o.resolution.Amount
					if d.LedgerAmount != e.Amount {
						d.Kind, d.Note = DiffAmount, fmt.Sprintf("the ledger posted %d yen, the bank moved %d", d.LedgerAmount, e.Amount)
					}
				default:
					d.Kind, d.Note = DiffPendingSettled, "settled at the bank, pending in the ledger: the server's reconciler sends it again under the same key and posts it"
					if o.pending.Amount != e.Amount {
						d.Kind, d.Note = DiffAmount, fmt.Sprintf("the ledger holds %d yen pending, the bank moved %d", o.pending.Amount, e.Amount)
					}
				}
			}
			if d.Kind == "" {
				r.Matched++
				continue
			}
			r.Differences = append(r.Differences, d)
		}
		for _, o := range led.ops {
			if o.bank != code || !inPeriod(o.op.CreatedAt) || seen[o.op.Transfer.String()] {
				continue
			}
			switch {
			case o.pending.ID.IsZero():
				r.Differences = append(r.Differences, Difference{Kind: DiffMissingInLedger, Bank: code, Operation: o.op.Transfer.String(), OpKind: o.op.Kind,
					LedgerAmount: o.op.Amount, At: o.op.CreatedAt, Note: "the operation names a ledger transfer that does not exist; the bank shows nothing under its key"})
			case o.resolution.Kind == emoney.TransferPost:
				r.Differences = append(r.Differences, Difference{Kind: DiffMissingAtBank, Bank: code, Operation: o.op.Transfer.String(), OpKind: o.op.Kind,
					LedgerAmount: o.resolution.Amount, At: o.op.CreatedAt, Note: "the ledger posted it; the bank's statement shows nothing under its key"})
			}
			// Voided, or pending and not at the bank: both sides agree nothing moved (yet).
		}
	}
	return r, nil
}

type ledgerOp struct {
	op         emoney.LinkOp
	bank       string
	pending    emoney.Transfer // zero if the ledger has no such transfer
	resolution emoney.Transfer // zero while pending
}

type ledgerSide struct {
	ops   []*ledgerOp
	byKey map[string]*ledgerOp // by the pending transfer's id (the bank's Idempotency-Key)
}

// readLedger reads the link operations created in [from, to) with their banks, transfers and
// resolutions, in one read transaction.
func readLedger(ctx context.Context, store emoney.Store, from, to time.Time) (ledgerSide, error) {
	side := ledgerSide{byKey: map[string]*ledgerOp{}}
	err := store.View(ctx, func(tx emoney.ReadTx) error {
		ops, err := tx.LinkOpsCreated(ctx, from, to)
		if err != nil {
			return err
		}
		banks := map[emoney.ID]string{}
		ids := make([]emoney.ID, 0, len(ops))
		for _, op := range ops {
			code, ok := banks[op.Link]
			if !ok {
				l, err := tx.Link(ctx, op.Link)
				if err != nil {
					return fmt.Errorf("the link of operation %s: %w", op.Transfer, err)
				}
				code, banks[op.Link] = l.Bank, l.Bank
			}
			o := &ledgerOp{op: op, bank: code}
			side.ops = append(side.ops, o)
			side.byKey[op.Transfer.String()] = o
			ids = append(ids, op.Transfer)
		}
		trs, err := tx.Transfers(ctx, ids)
		if err != nil {
			return err
		}
		for _, tr := range trs {
			if o := side.byKey[tr.ID.String()]; o != nil {
				o.pending = tr
			}
		}
		res, err := tx.Resolutions(ctx, ids)
		if err != nil {
			return err
		}
		for _, tr := range res {
			if o := side.byKey[tr.PendingID.String()]; o != nil {
				o.resolution = tr
			}
		}
		return nil
	})
	return side, err
}

// readOne reads the link operation whose pending transfer's id is key, with its bank, transfer
// and resolution; nil if there is none.
func readOne(ctx context.Context, store emoney.Store, key string) (*ledgerOp, error) {
	id, err := emoney.ParseID(key)
	if err != nil {
		return nil, nil // not a key this wallet makes
	}
	var o *ledgerOp
	err = store.View(ctx, func(tx emoney.ReadTx) error {
		op, err := tx.LinkOpByTransfer(ctx, id)
		if emoney.ErrorCode(err) == emoney.ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		l, err := tx.Link(ctx, op.Link)
		if err != nil {
			return err
		}
		o = &ledgerOp{op: op, bank: l.Bank}
		trs, err := tx.Transfers(ctx, []emoney.ID{id})
		if err != nil {
			return err
		}
		if len(trs) == 1 {
			o.pending = trs[0]
		}
		res, err := tx.Resolutions(ctx, []emoney.ID{id})
		if len(res) == 1 {
			o.resolution = res[0]
		}
		return err
	})
	return o, err
}
