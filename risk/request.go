package risk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Request is what the API knows of the request an event comes from, beyond who sent it: the
// client's address, and the step-up proof it carries (the Step-Up-Proof header), which the
// service that builds the event checks against the operation (OperationDigest of its type,
// counterparty, amount and idempotency key): if it is for this very operation, a challenge is
// met.
type Request struct {
	IP    string
	Proof string
}

type requestKey struct{}

// WithRequest returns ctx carrying r, for the services that build events.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the Request ctx carries (zero if none).
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	return r
}

// OperationDigest names one operation exactly, for a step-up bound to it (dynamic linking):
// its type (transfer, payment, topup, withdrawal), its counterparty (the receiving wallet, the
// merchant, the bank link), its amount and its idempotency key. A proof for one digest proves
// nothing for another amount, another payee or another request.
func OperationDigest(typ, counterparty string, amount int64, key string) string {
	h := sha256.New()
	for _, s := range []string{typ, counterparty, strconv.FormatInt(amount, 10), key} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}
