package emoney

import "time"

// PartnerWebhook is where a partner wants its events delivered, and the secret they are signed
// with. The secret must be usable for signing, so it is kept sealed (package pii, binding
// "partner:<id>:webhook_secret"), never hashed, and never shown again after it is made.
type PartnerWebhook struct {
	Partner      ID
	URL          string
	SecretSealed []byte
	UpdatedAt    time.Time
}

// DeliveryStatus is where a webhook delivery stands.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"   // to be sent (again) at NextAt
	DeliveryDelivered DeliveryStatus = "delivered" // the receiver answered 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // given up on after the last retry
)

// Delivery is one event on its way to one partner. The body is fixed when the delivery is made,
// so that every attempt sends the same bytes; each attempt signs them afresh.
type Delivery struct {
	ID       ID
	EventID  string // stable: "evt_<transfer id>"; receivers deduplicate on it
	Partner  ID
	Type     string // "payment.received", "refund.created"
	Payload  []byte // the JSON body
	Status   DeliveryStatus
	Attempts int
	// NextAt is when a pending delivery is due. A claim moves it to the end of the claim's
	// lease, so that nobody else sends it meanwhile.
	NextAt time.Time
	// Claim is the claim that holds the delivery (zero: none). Only that claim may record
	// the outcome of its attempt.
	Claim       ID
	LastStatus  int    // the receiver's HTTP status at the last attempt; 0 for no answer
	LastError   string // why the last attempt failed, without secrets; "" if it did not
	CreatedAt   time.Time
	DeliveredAt time.Time // zero unless delivered
}

// DeliveryOutcome is what one attempt at a claimed delivery came to.
type DeliveryOutcome struct {
	ID         ID
	Claim      ID
	Status     DeliveryStatus // pending (retry at NextAt), delivered or failed
	NextAt     time.Time      // pending only: when to try again
	LastStatus int
	LastError  string
	At         time.Time // when the attempt ended
}
