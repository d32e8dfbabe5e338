package row

import (
	"errors"

	"emoney"
)

// PartnerWebhookCols is the column list PartnerWebhook.Dest expects.
const PartnerWebhookCols = `partner_id, url, secret_sealed, updated_at`

// PartnerWebhook is a row of the partner_webhooks table as both stores select it.
type PartnerWebhook struct {
	Partner, SecretSealed []byte
	URL                   string
	UpdatedAt             int64
}

// Dest returns the scan destinations, in column order.
func (r *PartnerWebhook) Dest() []any {
	return []any{&r.Partner, &r.URL, &r.SecretSealed, &r.UpdatedAt}
}

// Decode returns the endpoint the row holds.
func (r *PartnerWebhook) Decode() (emoney.PartnerWebhook, error) {
	id, err := emoney.IDFromBytes(r.Partner)
	return emoney.PartnerWebhook{Partner: id, URL: r.URL, SecretSealed: r.SecretSealed, UpdatedAt: Time(r.UpdatedAt)}, err
}

// DeliveryCols is the column list Delivery.Dest expects.
const DeliveryCols = `id, event_id, partner_id, type, payload, status, attempts, next_at, claim, last_status, last_error, created_at, delivered_at`

// Delivery is a row of the webhook_deliveries table as both stores select it.
type Delivery struct {
	ID, Partner, Payload, Claim    []byte
	EventID, Type, Status, LastErr string
	Attempts, NextAt, LastStatus   int64
	CreatedAt                      int64
	DeliveredAt                    *int64
}

// Dest returns the scan destinations, in column order.
func (r *Delivery) Dest() []any {
	return []any{&r.ID, &r.EventID, &r.Partner, &r.Type, &r.Payload, &r.Status, &r.Attempts, &r.NextAt, &r.Claim,
		&r.LastStatus, &r.LastErr, &r.CreatedAt, &r.DeliveredAt}
}

// Decode returns the delivery the row holds.
func (r *Delivery) Decode() (emoney.Delivery, error) {
	d := emoney.Delivery{EventID: r.EventID, Type: r.Type, Payload: r.Payload, Status: emoney.DeliveryStatus(r.Status),
		Attempts: int(r.Attempts), NextAt: Time(r.NextAt), LastStatus: int(r.LastStatus), LastError: r.LastErr, CreatedAt: Time(r.CreatedAt)}
	if r.DeliveredAt != nil {
		d.DeliveredAt = Time(*r.DeliveredAt)
	}
	var errs [3]error
	d.ID, errs[0] = emoney.IDFromBytes(r.ID)
	d.Partner, errs[1] = emoney.IDFromBytes(r.Partner)
	d.Claim, errs[2] = emoney.IDFromBytes(r.Claim)
	return d, errors.Join(errs[:]...)
}
