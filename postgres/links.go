package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

// Bank links and linking flows (migration 0016). One account, one link: the partial unique
// index links_account decides; of two transactions inserting one account, the second waits for
// the first and then fails with a unique violation (conflict).

func (t *tx) Link(ctx context.Context, id emoney.ID) (emoney.BankLink, error) {
	ls, err := t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE id = $1`, id.Bytes())
	if err != nil {
		return emoney.BankLink{}, err
	}
	if len(ls) == 0 {
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no such bank link")
	}
	return ls[0], nil
}

func (t *tx) Links(ctx context.Context, user emoney.ID) ([]emoney.BankLink, error) {
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE user_id = $1 ORDER BY id DESC`, user.Bytes())
}

func (t *tx) LinkByAccount(ctx context.Context, index []byte) (emoney.BankLink, error) {
	ls, err := t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE account_index = $1 AND status <> 'revoked'`, index)
	if err != nil {
		return emoney.BankLink{}, err
	}
	if len(ls) == 0 {
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no link holds this bank account")
	}
	return ls[0], nil
}

func (t *tx) links(ctx context.Context, q string, args ...any) ([]emoney.BankLink, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("bank links", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.BankLink, error) {
		var raw row.Link
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.BankLink{}, err
		}
		return raw.Decode()
	})
	return out, wrap("bank links", err)
}

// linkParams is "$1, $2, …" for one row of links.
var linkParams = func() string {
	ps := make([]string, row.LinkColumns)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", i+1)
	}
	return strings.Join(ps, ", ")
}()

func (t *tx) CreateLink(ctx context.Context, l emoney.BankLink) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO links (`+row.LinkCols+`) VALUES (`+linkParams+`)`, row.LinkArgs(l)...)
	return wrap("link bank account", err)
}

func (t *tx) RevokeLink(ctx context.Context, user, id emoney.ID, by string, at time.Time) (emoney.BankLink, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE links SET status = 'revoked', revoked_at = $1, revoked_by = $2
		WHERE id = $3 AND user_id = $4 AND status <> 'revoked'`, at.UnixMicro(), by, id.Bytes(), user.Bytes())
	if err != nil {
		return emoney.BankLink{}, wrap("revoke bank link", err)
	}
	l, lerr := t.Link(ctx, id)
	switch {
	case lerr != nil && emoney.ErrorCode(lerr) != emoney.ENotFound:
		return emoney.BankLink{}, lerr
	case lerr != nil || l.User != user:
		return emoney.BankLink{}, emoney.Errorf(emoney.ENotFound, "no such bank link")
	case tag.RowsAffected() == 0:
		return emoney.BankLink{}, emoney.Errorf(emoney.EConflict, "this bank link is revoked already")
	}
	return l, nil
}

func (t *tx) SaveLinkFlow(ctx context.Context, f emoney.LinkFlow) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM link_flows WHERE expires_at <= $1`, f.CreatedAt.UnixMicro()); err != nil {
		return wrap("save link flow", err)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO link_flows (`+row.LinkFlowCols+`) VALUES ($1, $2, $3, $4, $5, $6)`, row.LinkFlowArgs(f)...)
	return wrap("save link flow", err)
}

func (t *tx) TakeLinkFlow(ctx context.Context, stateHash []byte, now time.Time) (emoney.LinkFlow, error) {
	var raw row.LinkFlow
	err := t.tx.QueryRow(ctx, `DELETE FROM link_flows WHERE state_hash = $1 RETURNING `+row.LinkFlowCols, stateHash).Scan(raw.Dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.LinkFlow{}, emoney.Errorf(emoney.ENotFound, "no linking in progress with this state")
	}
	if err != nil {
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
