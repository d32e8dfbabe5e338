package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

// Webhooks from banks (migration 0019): links by grant, received events, fraud reports. Of two
// transactions recording one event, the second's INSERT … ON CONFLICT DO NOTHING waits for the
// first to commit and then inserts nothing: the event is acted on once.

func (t *tx) LinkByGrant(ctx context.Context, bank, grant string) (emoney.BankLink, error) {
	if grant == "" {
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no link has this grant")
	}
	ls, err := t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE bank = $1 AND grant_id = $2 AND grant_id <> '' ORDER BY id DESC LIMIT 1`, bank, grant)
	if err != nil {
		return emoney.BankLink{}, err
	}
	if len(ls) == 0 {
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no link has this grant")
	}
	return ls[0], nil
}

func (t *tx) BankEvent(ctx context.Context, bank, eventID string) (emoney.BankEvent, error) {
	var raw row.BankEvent
	err := t.tx.QueryRow(ctx, `SELECT `+row.BankEventCols+` FROM bank_events WHERE bank = $1 AND event_id = $2`, bank, eventID).Scan(raw.Dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.BankEvent{}, emoney.Errorf(emoney.ENotFound, "no such bank event")
	}
	if err != nil {
		return emoney.BankEvent{}, wrap("bank event", err)
	}
	e, err := raw.Decode()
	return e, wrap("bank event", err)
}

func (t *tx) BankFraudReports(ctx context.Context, link emoney.ID) ([]emoney.BankFraudReport, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+row.BankFraudReportCols+` FROM bank_fraud_reports WHERE link_id = $1 ORDER BY id DESC`, link.Bytes())
	if err != nil {
		return nil, wrap("bank fraud reports", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.BankFraudReport, error) {
		var raw row.BankFraudReport
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.BankFraudReport{}, err
		}
		return raw.Decode()
	})
	return out, wrap("bank fraud reports", err)
}

func (t *tx) RecordBankEvent(ctx context.Context, e emoney.BankEvent) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO bank_events (`+row.BankEventCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (bank, event_id) DO NOTHING`, row.BankEventArgs(e)...)
	if err != nil {
		return false, wrap("record bank event", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *tx) SetBankEventOutcome(ctx context.Context, bank, eventID, outcome string, link emoney.ID) error {
	return t.execOne(ctx, "bank event outcome", `UPDATE bank_events SET outcome = $1, link_id = $2 WHERE bank = $3 AND event_id = $4`,
		outcome, row.NullID(link), bank, eventID)
}

func (t *tx) CreateBankFraudReport(ctx context.Context, r emoney.BankFraudReport) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO bank_fraud_reports (`+row.BankFraudReportCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		row.BankFraudReportArgs(r)...)
	return wrap("bank fraud report", err)
}
