package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"time"
	"unicode"
	"unicode/utf8"

	"emoney"
)

// Op is one leg of a request. Which fields it uses depends on Kind:
//
//   - TransferPosted (the default when Kind is empty): move Amount of Currency From → To now.
//     With ReversalOf set instead of From/To, it reverses (part of) a posted transfer: the money
//     goes back the other way, Amount 0 meaning all that is not reversed yet.
//   - TransferPending: reserve Amount From → To until a post or void. Hold says why; Timeout > 0
//     makes it expire, allowed only for holds that may expire (emoney.HoldKind.MayExpire).
//   - TransferPost: complete PendingID, for Amount (0 = the whole pending amount; less releases
//     the rest).
//   - TransferVoid: cancel PendingID.
type Op struct {
	Kind       emoney.TransferKind
	From, To   emoney.ID
	Currency   emoney.Currency
	Amount     int64
	Code       string
	Hold       emoney.HoldKind
	Timeout    time.Duration
	PendingID  emoney.ID
	ReversalOf emoney.ID
	// FromLimit and ToLimit are wallet limits the op must keep on its debited and credited
	// side (nil: none). They are not part of the request's identity: a retry after the limits
	// changed is still the same request.
	FromLimit, ToLimit *Limit
}

// Limit is a wallet limit one side of an op must keep. It is checked and counted in the batch
// transaction that moves the money, under the balance's lock, so requests racing each other
// (from any process) cannot pass it together.
type Limit struct {
	// Count adds the op's amount to the side's totals for the current Asia/Tokyo day and month
	// (emoney.Usage: In on the credited side, Out on the debited side). A pending transfer
	// records which sides were counted (emoney.Transfer.Counted), and the post or void that
	// resolves it gives back what does not move, if the periods it was counted in are still the
	// current ones: posts and voids take no limits of their own, and never fail on one.
	Count bool
	// Day and Month cap those totals, this op included (0: no cap).
	Day, Month int64
	// MaxBalance caps the credited side's balance plus its pending credits after the op (0: no
	// cap).
	MaxBalance int64
}

func (l *Limit) validate(field string, credit bool) error {
	if l == nil {
		return nil
	}
	if l.Day < 0 || l.Month < 0 || l.MaxBalance < 0 {
		return emoney.FieldError(field, "limits must not be negative")
	}
	if l.MaxBalance != 0 && !credit {
		return emoney.FieldError(field+".max_balance", "a balance cap applies to the credited side only")
	}
	return nil
}

// Request is what a client asks the ledger to do in one go: one or more ops, applied all or
// nothing (a linked batch), under an idempotency key scoped to Principal.
type Request struct {
	Principal string // who asks: "wallet:…", "staff:…", "system:…"
	Key       string // the client's idempotency key
	Ops       []Op
	// Tag is part of what the request is (its key's request hash) without being part of its
	// records: what the caller's own records tie to the money (for a top-up, its bank link),
	// so that the same key for the same movement through another link is a conflict.
	Tag string
	// Attach, if set, runs in the batch transaction that applies the request, right after its
	// ops were applied (it gets the records they will commit, ids included) and before the
	// batch is written: for the caller's own records of the movement, which then commit with
	// the money, or not at all, in the same transaction and fsync. It may read, lock and write
	// through tx; it must not call the ledger. An *emoney.Error (not internal) from it fails
	// the request alone — it must then have written nothing; any other error fails the batch,
	// whose requests are then retried one by one. It runs only for a request applied now (not
	// for a retry answered with the first result), and may run again if the store retries the
	// transaction.
	Attach func(ctx context.Context, tx emoney.Tx, trs []emoney.Transfer) error
}

// MaxOps bounds the legs of one linked request.
const MaxOps = 64

// validate checks everything that can be checked without the database, filling defaults.
func (r *Request) validate() error {
	if r.Principal == "" || len(r.Principal) > 128 || !cleanText(r.Principal) {
		return emoney.FieldError("principal", "principal must be 1 to 128 bytes of UTF-8 text")
	}
	if r.Key == "" || len(r.Key) > 255 {
		return emoney.FieldError("idempotency_key", "idempotency key must be 1 to 255 characters")
	}
	for _, c := range []byte(r.Key) {
		if c < 0x21 || c > 0x7e {
			return emoney.FieldError("idempotency_key", "idempotency key must be printable ASCII without spaces")
		}
	}
	if len(r.Ops) == 0 || len(r.Ops) > MaxOps {
		return emoney.FieldError("ops", "a request has 1 to %d ops", MaxOps)
	}
	for i := range r.Ops {
		if err := r.Ops[i].validate(fmt.Sprintf("ops[%d].", i)); err != nil {
			return err
		}
	}
	return nil
}

func (o *Op) validate(p string) error {
	if o.Kind == "" {
		o.Kind = emoney.TransferPosted
	}
	if o.Code != "" && !validCode(o.Code) {
		return emoney.FieldError(p+"code", "code must be 1 to 32 of a-z, 0-9, '_', '.', '-'")
	}
	if o.Timeout < 0 {
		return emoney.FieldError(p+"timeout", "timeout must not be negative")
	}
	if o.Timeout > 0 && (o.Kind != emoney.TransferPending || !o.Hold.MayExpire()) {
		return emoney.FieldError(p+"timeout", "only %s holds may expire: voiding the others is not always safe", emoney.HoldAuthorization)
	}
	if err := o.FromLimit.validate(p+"from_limit", false); err != nil {
		return err
	}
	if err := o.ToLimit.validate(p+"to_limit", true); err != nil {
		return err
	}
	if o.Amount < 0 || o.Amount > emoney.MaxAmount {
		return emoney.FieldError(p+"amount", "amount must be between 1 and %d", emoney.MaxAmount)
	}
	refOnly := func(what string) error { // post, void and reversal take their accounts from the referenced transfer
		if !o.From.IsZero() || !o.To.IsZero() || o.Currency != "" {
			return emoney.FieldError(p+"from", "%s takes its accounts and currency from the transfer it refers to", what)
		}
		return nil
	}
	switch o.Kind {
	case emoney.TransferPosted, emoney.TransferPending:
		if o.Kind == emoney.TransferPending {
			if !o.Hold.Valid() {
				return emoney.FieldError(p+"hold", "a pending transfer needs a hold kind")
			}
		} else if o.Hold != "" {
			return emoney.FieldError(p+"hold", "only pending transfers have a hold kind")
		}
		if !o.PendingID.IsZero() {
			return emoney.FieldError(p+"pending_id", "pending_id is only for post and void")
		}
		if !o.ReversalOf.IsZero() {
			if o.Kind != emoney.TransferPosted {
				return emoney.FieldError(p+"reversal_of", "a reversal is a posted transfer")
			}
			if o.Code == "" {
				o.Code = "reversal"
			}
			return refOnly("a reversal")
		}
		if o.From.IsZero() {
			return emoney.FieldError(p+"from", "from account is required")
		}
		if o.To.IsZero() {
			return emoney.FieldError(p+"to", "to account is required")
		}
		if o.From == o.To {
			return emoney.FieldError(p+"to", "from and to must differ")
		}
		if o.Currency == "" {
			o.Currency = emoney.JPY
		}
		if err := o.Currency.Validate(); err != nil {
			return emoney.FieldError(p+"currency", "%s", emoney.ErrorMessage(err))
		}
		if err := emoney.ValidateAmount(p+"amount", o.Amount); err != nil {
			return err
		}
		if o.Code == "" {
			o.Code = "transfer"
		}
	case emoney.TransferPost, emoney.TransferVoid:
		if o.FromLimit != nil || o.ToLimit != nil {
			return emoney.FieldError(p+"from_limit", "a post or void takes no limits: it gives back what its pending transfer counted")
		}
		if o.PendingID.IsZero() {
			return emoney.FieldError(p+"pending_id", "pending_id is required")
		}
		if o.Hold != "" || !o.ReversalOf.IsZero() {
			return emoney.FieldError(p+"hold", "post and void take only pending_id (and amount for post)")
		}
		if o.Kind == emoney.TransferVoid && o.Amount != 0 {
			return emoney.FieldError(p+"amount", "a void has no amount")
		}
		return refOnly("a " + string(o.Kind))
	default:
		return emoney.FieldError(p+"kind", "kind must be transfer, pending, post or void")
	}
	return nil
}

// cleanText reports whether s is valid UTF-8 without control characters: both stores keep it
// the same way, and it is safe in logs and events.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func validCode(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// hash identifies the request's content (not its key or principal), to tell a retry from a reuse
// of the same key for something else.
func (r *Request) hash() []byte {
	h := sha256.New()
	for _, o := range r.Ops {
		writeStr(h, string(o.Kind))
		h.Write(o.From[:])
		h.Write(o.To[:])
		writeStr(h, string(o.Currency))
		writeInt(h, o.Amount)
		writeStr(h, o.Code)
		writeStr(h, string(o.Hold))
		writeInt(h, int64(o.Timeout))
		h.Write(o.PendingID[:])
		h.Write(o.ReversalOf[:])
	}
	if r.Tag != "" { // (after the ops, so requests without a tag hash as they always did)
		h.Write([]byte{0xff})
		writeStr(h, r.Tag)
	}
	return h.Sum(nil)
}

func writeStr(h hash.Hash, s string) {
	writeInt(h, int64(len(s)))
	h.Write([]byte(s))
}

func writeInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}
