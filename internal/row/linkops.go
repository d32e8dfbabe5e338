package row

import (
	"errors"

	"emoney"
)

// LinkOpCols is the column list LinkOp.Dest expects and LinkOpArgs gives.
const LinkOpCols = `principal, idem_key, link_id, user_id, kind, amount, day, transfer_id, created_at`

// LinkOpColumns is how many columns LinkOpCols names.
const LinkOpColumns = 9

// LinkOp is a row of the link_ops table as both stores select it (LinkOpCols).
type LinkOp struct {
	Principal, Key string
	Link, User     []byte
	Kind           string
	Amount, Day    int64
	Transfer       []byte // NULL until the pending transfer exists
	CreatedAt      int64
}

// Dest returns the scan destinations, in column order.
func (r *LinkOp) Dest() []any {
	return []any{&r.Principal, &r.Key, &r.Link, &r.User, &r.Kind, &r.Amount, &r.Day, &r.Transfer, &r.CreatedAt}
}

// Decode returns the operation the row holds; an error if an id is malformed.
func (r *LinkOp) Decode() (emoney.LinkOp, error) {
	op := emoney.LinkOp{Principal: r.Principal, Key: r.Key, Kind: r.Kind, Amount: r.Amount, Day: int32(r.Day), CreatedAt: Time(r.CreatedAt)}
	var e1, e2, e3 error
	op.Link, e1 = emoney.IDFromBytes(r.Link)
	op.User, e2 = emoney.IDFromBytes(r.User)
	if r.Transfer != nil {
		op.Transfer, e3 = emoney.IDFromBytes(r.Transfer)
	}
	return op, errors.Join(e1, e2, e3)
}

// LinkOpArgs returns op's column values in LinkOpCols order (transfer_id NULL while zero).
func LinkOpArgs(op emoney.LinkOp) []any {
	var tr []byte
	if !op.Transfer.IsZero() {
		tr = op.Transfer.Bytes()
	}
	return []any{op.Principal, op.Key, op.Link.Bytes(), op.User.Bytes(), op.Kind, op.Amount, int64(op.Day), tr, op.CreatedAt.UnixMicro()}
}
