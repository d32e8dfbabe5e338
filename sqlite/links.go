package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

// Bank links and linking flows (migration 0016). One account, one link: the partial unique
// index links_account decides, under the database's one write lock.

func (t *tx) Link(ctx context.Context, id emoney.ID) (emoney.BankLink, error) {
	ls, err := t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE id = ?`, id.Bytes())
	if err != nil {
		return emoney.BankLink{}, err
	}
	if len(ls) == 0 {
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no such bank link")
	}
	return ls[0], nil
}

func (t *tx) Links(ctx context.Context, user emoney.ID) ([]emoney.BankLink, error) {
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE user_id = ? ORDER BY id DESC`, user.Bytes())
}

func (t *tx) LinkByAccount(ctx context.Context, index []byte) (emoney.BankLink, error) {
	ls, err := t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE account_index = ? AND status <> 'revoked'`, index)
	if err != nil {
		return emoney.BankLink{}, err
	}
	if len(ls) == 0 {
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no link holds this bank account")
	}
	return ls[0], nil
}

func (t *tx) links(ctx context.Context, q string, args ...any) ([]emoney.BankLink, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("bank links", err)
	}
	defer rows.Close()
	var out []emoney.BankLink
	for rows.Next() {
		var raw row.Link
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("bank links", err)
		}
		l, err := raw.Decode()
		if err != nil {
			return nil, wrap("bank links", err)
		}
		out = append(out, l)
	}
	return out, wrap("bank links", rows.Err())
}

func (t *tx) CreateLink(ctx context.Context, l emoney.BankLink) error {
	return wrap("link bank account", t.exec(ctx, `INSERT INTO links (`+row.LinkCols+`) VALUES `+placeholders(1, row.LinkColumns), row.LinkArgs(l)...))
}

func (t *tx) RevokeLink(ctx context.Context, user, id emoney.ID, by string, at time.Time) (emoney.BankLink, error) {
	err := t.execOne(ctx, "revoke bank link", `UPDATE links SET status = 'revoked', revoked_at = ?, revoked_by = ?
		WHERE id = ? AND user_id = ? AND status <> 'revoked'`, at.UnixMicro(), by, id.Bytes(), user.Bytes())
	if err != nil && emoney.ErrorCode(err) != emoney.ENotFound {
		return emoney.BankLink{}, err
	}
	l, lerr := t.Link(ctx, id)
	switch {
	case lerr != nil && emoney.ErrorCode(lerr) != emoney.ENotFound:
		return emoney.BankLink{}, lerr
	case lerr != nil || l.User != user:
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no such bank link")
	case err != nil:
		return emoney.BankLink{}, emoney.Errorf(emoney.EConflict, "this bank link is revoked already")
	}
	return l, nil
}

func (t *tx) SaveLinkFlow(ctx context.Context, f emoney.LinkFlow) error {
	if err := t.exec(ctx, `DELETE FROM link_flows WHERE expires_at <= ?`, f.CreatedAt.UnixMicro()); err != nil {
		return wrap("save link flow", err)
	}
	return wrap("save link flow", t.exec(ctx, `INSERT INTO link_flows (`+row.LinkFlowCols+`) VALUES (?, ?, ?, ?, ?, ?)`, row.LinkFlowArgs(f)...))
}

func (t *tx) TakeLinkFlow(ctx context.Context, stateHash []byte, now time.Time) (emoney.LinkFlow, error) {
	rows, err := t.query(ctx, `DELETE FROM link_flows WHERE state_hash = ? RETURNING `+row.LinkFlowCols, stateHash)
	if err != nil {
		return emoney.LinkFlow{}, wrap("take link flow", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.LinkFlow{}, wrap("take link flow", err)
		}
		return emoney.LinkFlow{}, emoney.Errorf(emoney.ENotFound, "no linking in progress with this state")
	}
	var raw row.LinkFlow
	if err := rows.Scan(raw.Dest()...); err != nil {
		return emoney.LinkFlow{}, wrap("take link flow", err)
	}
	f, err := raw.Decode()
	if err != nil {
		return emoney.LinkFlow{}, wrap("take link flow", err)
	}
	if !now.Before(f.ExpiresAt) {
		return emoney.LinkFlow{}, emoney.Errorf(emoney.ENotFound, "no linking in progress with this state")
	}
	return f, nil
}
