package webhook

import (
	"encoding/json"
	"strings"
	"time"

	"emoney"
)

// Event types merchants receive.
const (
	// TypePaymentReceived: a customer paid the merchant (the money is in its account).
	TypePaymentReceived = "payment.received"
	// TypeRefundCreated: the merchant refunded (part of) a payment.
	TypeRefundCreated = "refund.created"
)

// Event is the JSON body of a delivery. It names ledger records and amounts, never a person:
// no e-mail, name or wallet of the customer.
type Event struct {
	ID        string    `json:"id"`   // "evt_<transfer id>": stable across retries
	Type      string    `json:"type"` // TypePaymentReceived or TypeRefundCreated
	CreatedAt time.Time `json:"created_at"`
	Data      EventData `json:"data"`
}

// EventData is what happened.
type EventData struct {
	Transfer emoney.ID       `json:"transfer"` // the ledger record that moved the money
	Amount   int64           `json:"amount"`   // minor units (JPY: yen)
	Currency emoney.Currency `json:"currency"`
	Payment  emoney.ID       `json:"payment,omitzero"` // refunds: the payment refunded
}

// merchantEvent is an event for whoever owns account.
type merchantEvent struct {
	account emoney.ID
	event   Event
}

// committed is the part of a ledger.committed payload the fan-out reads.
type committed struct {
	Transfers []emoney.Transfer `json:"transfers"`
}

// merchantEvents returns the merchant events in a ledger.committed payload: money posted into an
// account with code payment (a payment, or the post of a held one), and refunds out of one.
// Pending and voided payments are not events: no money arrived.
func merchantEvents(payload []byte) ([]merchantEvent, error) {
	var c committed
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	var out []merchantEvent
	for _, tr := range c.Transfers {
		ev := Event{ID: "evt_" + tr.ID.String(), CreatedAt: tr.CreatedAt.UTC(),
			Data: EventData{Transfer: tr.ID, Amount: tr.Amount, Currency: tr.Currency}}
		switch {
		case tr.Code == "payment" && (tr.Kind == emoney.TransferPosted || tr.Kind == emoney.TransferPost):
			ev.Type = TypePaymentReceived
			out = append(out, merchantEvent{account: tr.To, event: ev})
		case tr.Code == "refund" && tr.Kind == emoney.TransferPosted && !tr.ReversalOf.IsZero():
			ev.Type = TypeRefundCreated
			ev.Data.Payment = tr.ReversalOf
			out = append(out, merchantEvent{account: tr.From, event: ev})
		}
	}
	return out, nil
}

// merchantPartner returns the partner a merchant account belongs to (identity names it
// "merchant:<partner id>", see identity.PartnerAccountName).
func merchantPartner(a emoney.Account) (emoney.ID, bool) {
	rest, ok := strings.CutPrefix(a.Name, string(emoney.RoleMerchant)+":")
	if !ok || a.Kind != emoney.AccountMerchant {
		return emoney.ID{}, false
	}
	id, err := emoney.ParseID(rest)
	return id, err == nil
}
