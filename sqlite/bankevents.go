package sqlite

import (
	"context"

	"emoney"
	"emoney/internal/row"
)

// Webhooks from banks (migration 0019): links by grant, received events, fraud reports. A
// write transaction holds the database's one write lock, so two deliveries of one event are
// recorded one after the other and the second finds the first.

func (t *tx) LinkByGrant(ctx context.Context, bank, grant string) (emoney.BankLink, error) {
	if grant == "" {
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no link has this grant")
	}
	ls, err := t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE bank = ? AND grant_id = ? AND grant_id <> '' ORDER BY id DESC LIMIT 1`, bank, grant)
	if err != nil {
		return emoney.BankLink{}, err
	}
	if len(ls) == 0 {
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no link has this grant")
	}
	return ls[0], nil
}

func (t *tx) BankEvent(ctx context.Context, bank, eventID string) (emoney.BankEvent, error) {
	rows, err := t.query(ctx, `SELECT `+row.BankEventCols+` FROM bank_events WHERE bank = ? AND event_id = ?`, bank, eventID)
	if err != nil {
		return emoney.BankEvent{}, wrap("bank event", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.BankEvent{}, wrap("bank event", err)
		}
		return emoney.BankEvent{}, emoney.Errorf(emoney.ENotFound, "no such bank event")
	}
	var raw row.BankEvent
	if err := rows.Scan(raw.Dest()...); err != nil {
		return emoney.BankEvent{}, wrap("bank event", err)
	}
	e, err := raw.Decode()
	return e, wrap("bank event", err)
}

func (t *tx) BankFraudReports(ctx context.Context, link emoney.ID) ([]emoney.BankFraudReport, error) {
	rows, err := t.query(ctx, `SELECT `+row.BankFraudReportCols+` FROM bank_fraud_reports WHERE link_id = ? ORDER BY id DESC`, link.Bytes())
	if err != nil {
		return nil, wrap("bank fraud reports", err)
	}
	defer rows.Close()
	var out []emoney.BankFraudReport
	for rows.Next() {
		var raw row.BankFraudReport
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("bank fraud reports", err)
		}
		f, err := raw.Decode()
		if err != nil {
			return nil, wrap("bank fraud reports", err)
		}
		out = append(out, f)
	}
	return out, wrap("bank fraud reports", rows.Err())
}

func (t *tx) RecordBankEvent(ctx context.Context, e emoney.BankEvent) (bool, error) {
	st, err := t.s.stmt(ctx, t.tx, `INSERT INTO bank_events (`+row.BankEventCols+`) VALUES `+placeholders(1, row.BankEventColumns)+`
		ON CONFLICT (bank, event_id) DO NOTHING`)
	if err != nil {
		return false, wrap("record bank event", err)
	}
	res, err := st.ExecContext(ctx, row.BankEventArgs(e)...)
	if err != nil {
		return false, wrap("record bank event", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("record bank event", err)
}

func (t *tx) SetBankEventOutcome(ctx context.Context, bank, eventID, outcome string, link emoney.ID) error {
	return t.execOne(ctx, "bank event outcome", `UPDATE bank_events SET outcome = ?, link_id = ? WHERE bank = ? AND event_id = ?`,
		outcome, row.NullID(link), bank, eventID)
}

func (t *tx) CreateBankFraudReport(ctx context.Context, r emoney.BankFraudReport) error {
	return wrap("bank fraud report", t.exec(ctx, `INSERT INTO bank_fraud_reports (`+row.BankFraudReportCols+`) VALUES `+
		placeholders(1, row.BankFraudReportColumns), row.BankFraudReportArgs(r)...))
}
