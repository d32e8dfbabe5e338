package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"emoney"
	"emoney/internal/row"
)

// tx implements emoney.Tx over one database/sql transaction. Writes and the reads of a write
// transaction go through statements prepared once on the writer connection.
type tx struct {
	s     *Store
	tx    *sql.Tx
	write bool
}

var _ emoney.Tx = (*tx)(nil)

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if !t.write {
		st, err := t.s.readStmt(ctx, t.tx, q)
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, args...)
	}
	st, err := t.s.stmt(ctx, t.tx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (t *tx) exec(ctx context.Context, q string, args ...any) error {
	st, err := t.s.stmt(ctx, t.tx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// chunkSizes splits n rows into pieces of at most max rows, each a power of two, so that a
// multi-row statement is prepared for at most log2(max)+1 distinct sizes.
func chunkSizes(n, max int) []int {
	var out []int
	for n > 0 {
		c := max
		for c > n {
			c /= 2
		}
		out = append(out, c)
		n -= c
	}
	return out
}

// placeholders returns "(?,?,?),(?,?,?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// each runs do over chunks of n items; do receives the bounds of one chunk.
func each(n, max int, do func(lo, hi int) error) error {
	lo := 0
	for _, c := range chunkSizes(n, max) {
		if err := do(lo, lo+c); err != nil {
			return err
		}
		lo += c
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *emoney.Error
	if errors.As(err, &e) {
		return err
	}
	if isUnique(err) {
		// The message reaches clients: it names the operation, never the table or the SQL.
		return &emoney.Error{Code: emoney.EConflict, Message: op + ": already exists", Err: err}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// WriteVersion is this handle's count of commits, moved on by one more whenever PRAGMA
// data_version (which changes when another connection commits) differs from the last look.
// Called under the write lock, so nobody can commit between the look and the answer.
func (t *tx) WriteVersion(ctx context.Context) (int64, bool, error) {
	rows, err := t.query(ctx, `PRAGMA data_version`)
	if err != nil {
		return 0, false, wrap("data version", err)
	}
	defer rows.Close()
	var dv int64
	if rows.Next() {
		if err := rows.Scan(&dv); err != nil {
			return 0, false, wrap("data version", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, false, wrap("data version", err)
	}
	if dv != t.s.dataVersion || dv == 0 {
		t.s.dataVersion = dv
		t.s.writeVersion++
	}
	return t.s.writeVersion, true, nil
}

// ---- accounts and balances

const accountCols = `id, name, kind, flags, created_at`

type scanner interface{ Scan(...any) error }

func scanAccount(r scanner) (emoney.Account, error) {
	var a emoney.Account
	var id []byte
	var kind string
	var created int64
	if err := r.Scan(&id, &a.Name, &kind, &a.Flags, &created); err != nil {
		return a, err
	}
	var err error
	a.ID, err = emoney.IDFromBytes(id)
	a.Kind = emoney.AccountKind(kind)
	a.CreatedAt = fromMicros(created)
	return a, err
}

func (t *tx) Account(ctx context.Context, id emoney.ID) (emoney.Account, error) {
	return t.oneAccount(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id.Bytes())
}

func (t *tx) AccountByName(ctx context.Context, name string) (emoney.Account, error) {
	return t.oneAccount(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = ?`, name)
}

func (t *tx) oneAccount(ctx context.Context, q string, arg any) (emoney.Account, error) {
	rows, err := t.query(ctx, q, arg)
	if err != nil {
		return emoney.Account{}, wrap("account", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.Account{}, wrap("account", err)
		}
		return emoney.Account{}, emoney.Errorf(emoney.ENotFound, "account not found")
	}
	a, err := scanAccount(rows)
	return a, wrap("account", err)
}

func (t *tx) Accounts(ctx context.Context, ids []emoney.ID) ([]emoney.Account, error) {
	var out []emoney.Account
	err := each(len(ids), 256, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			args = append(args, id.Bytes())
		}
		rows, err := t.query(ctx, `SELECT `+accountCols+` FROM accounts WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?,", hi-lo), ",")+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, wrap("accounts", err)
}

func (t *tx) ScanAccounts(ctx context.Context, fn func(emoney.Account) error) error {
	rows, err := t.query(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY id`)
	if err != nil {
		return wrap("scan accounts", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return wrap("scan accounts", err)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return wrap("scan accounts", rows.Err())
}

func (t *tx) CreateAccount(ctx context.Context, a emoney.Account) error {
	err := t.exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES (?, ?, ?, ?, ?)`,
		a.ID.Bytes(), a.Name, string(a.Kind), a.Flags, micros(a.CreatedAt))
	return wrap("create account", err)
}

const balanceCols = `account_id, currency, balance, debits_pending, credits_pending, last_transfer, usage`

func scanBalance(r scanner) (emoney.Balance, error) {
	var raw row.Balance
	if err := r.Scan(raw.Dest()...); err != nil {
		return emoney.Balance{}, err
	}
	return raw.Decode()
}

func (t *tx) Balances(ctx context.Context, account emoney.ID) ([]emoney.Balance, error) {
	rows, err := t.query(ctx, `SELECT `+balanceCols+` FROM balances WHERE account_id = ? ORDER BY currency`, account.Bytes())
	if err != nil {
		return nil, wrap("balances", err)
	}
	defer rows.Close()
	var out []emoney.Balance
	for rows.Next() {
		b, err := scanBalance(rows)
		if err != nil {
			return nil, wrap("balances", err)
		}
		out = append(out, b)
	}
	return out, wrap("balances", rows.Err())
}

func (t *tx) Balance(ctx context.Context, k emoney.BalanceKey) (emoney.Balance, error) {
	rows, err := t.query(ctx, `SELECT `+balanceCols+` FROM balances WHERE account_id = ? AND currency = ?`, k.Account.Bytes(), string(k.Currency))
	if err != nil {
		return emoney.Balance{}, wrap("balance", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return emoney.Balance{Account: k.Account, Currency: k.Currency}, wrap("balance", rows.Err())
	}
	b, err := scanBalance(rows)
	return b, wrap("balance", err)
}

func (t *tx) ScanBalances(ctx context.Context, fn func(emoney.Balance) error) error {
	rows, err := t.query(ctx, `SELECT `+balanceCols+` FROM balances ORDER BY account_id, currency`)
	if err != nil {
		return wrap("scan balances", err)
	}
	defer rows.Close()
	for rows.Next() {
		b, err := scanBalance(rows)
		if err != nil {
			return wrap("scan balances", err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return wrap("scan balances", rows.Err())
}

// LockBalances needs no row locks on SQLite: the write transaction began IMMEDIATE and so
// holds the database's only write lock, across processes, until it ends.
func (t *tx) LockBalances(ctx context.Context, keys []emoney.BalanceKey) ([]emoney.Balance, error) {
	if !t.write {
		return nil, errors.New("sqlite: LockBalances in a read transaction")
	}
	out := make([]emoney.Balance, 0, len(keys))
	err := each(len(keys), 256, func(lo, hi int) error {
		args := make([]any, 0, 2*(hi-lo))
		for _, k := range keys[lo:hi] {
			args = append(args, k.Account[:], string(k.Currency))
		}
		// k on the left of the join: SQLite loops over the keys and seeks each one.
		rows, err := t.query(ctx, `WITH k (id, cur) AS (VALUES `+placeholders(hi-lo, 2)+`)
			SELECT k.id, k.cur, coalesce(b.balance, 0), coalesce(b.debits_pending, 0), coalesce(b.credits_pending, 0), b.last_transfer, b.usage
			FROM k LEFT JOIN balances b ON b.account_id = k.id AND b.currency = k.cur`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			b, err := scanBalance(rows)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, wrap("lock balances", err)
}

func (t *tx) SaveBalances(ctx context.Context, bs []emoney.Balance) error {
	err := each(len(bs), 256, func(lo, hi int) error {
		args := make([]any, 0, 5*(hi-lo))
		for _, b := range bs[lo:hi] {
			args = append(args, b.Account.Bytes(), string(b.Currency), b.Balance, b.DebitsPending, b.CreditsPending, b.Last.Bytes(), b.Usage.Encode())
		}
		return t.exec(ctx, `INSERT INTO balances (`+balanceCols+`) VALUES `+placeholders(hi-lo, 7)+`
			ON CONFLICT (account_id, currency) DO UPDATE SET balance = excluded.balance,
			debits_pending = excluded.debits_pending, credits_pending = excluded.credits_pending,
			last_transfer = excluded.last_transfer, usage = excluded.usage`, args...)
	})
	return wrap("save balances", err)
}

// ---- transfers

const transferCols = `id, batch_id, kind, debit_account, credit_account, currency, amount, code, hold, pending_id, reversal_of, expires_at, created_at, from_prev, to_prev, counted`

func scanTransfer(r scanner) (emoney.Transfer, error) {
	var raw row.Transfer
	if err := r.Scan(raw.Dest()...); err != nil {
		return emoney.Transfer{}, err
	}
	return raw.Decode()
}

func (t *tx) transfers(ctx context.Context, op, q string, args ...any) ([]emoney.Transfer, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []emoney.Transfer
	for rows.Next() {
		tr, err := scanTransfer(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, tr)
	}
	return out, wrap(op, rows.Err())
}

// transfersByIDs runs "SELECT … WHERE col IN (ids)" in chunks.
func (t *tx) transfersByIDs(ctx context.Context, op, col string, ids []emoney.ID) ([]emoney.Transfer, error) {
	var out []emoney.Transfer
	err := each(len(ids), 256, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			args = append(args, id.Bytes())
		}
		part, err := t.transfers(ctx, op, `SELECT `+transferCols+` FROM transfers WHERE `+col+` IN (`+
			strings.TrimSuffix(strings.Repeat("?,", hi-lo), ",")+`) ORDER BY id`, args...)
		out = append(out, part...)
		return err
	})
	return out, err
}

func (t *tx) Transfers(ctx context.Context, ids []emoney.ID) ([]emoney.Transfer, error) {
	return t.transfersByIDs(ctx, "transfers", "id", ids)
}

func (t *tx) Resolutions(ctx context.Context, pending []emoney.ID) ([]emoney.Transfer, error) {
	return t.transfersByIDs(ctx, "resolutions", "pending_id", pending)
}

func (t *tx) Reversals(ctx context.Context, of []emoney.ID) ([]emoney.Transfer, error) {
	return t.transfersByIDs(ctx, "reversals", "reversal_of", of)
}

func (t *tx) ExpiredPending(ctx context.Context, at time.Time, limit int) ([]emoney.Transfer, error) {
	return t.transfers(ctx, "expired pending", `SELECT `+transferCols+` FROM transfers p
		WHERE p.expires_at IS NOT NULL AND p.expires_at <= ? AND p.kind = 'pending'
		AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id)
		ORDER BY p.expires_at, p.id LIMIT ?`, micros(at), limit)
}

func (t *tx) ScanTransfers(ctx context.Context, fn func(emoney.Transfer) error) error {
	rows, err := t.query(ctx, `SELECT `+transferCols+` FROM transfers ORDER BY id`)
	if err != nil {
		return wrap("scan transfers", err)
	}
	defer rows.Close()
	for rows.Next() {
		tr, err := scanTransfer(rows)
		if err != nil {
			return wrap("scan transfers", err)
		}
		if err := fn(tr); err != nil {
			return err
		}
	}
	return wrap("scan transfers", rows.Err())
}

func (t *tx) InsertTransfers(ctx context.Context, ts []emoney.Transfer) error {
	err := each(len(ts), 128, func(lo, hi int) error {
		args := make([]any, 0, 16*(hi-lo))
		for _, tr := range ts[lo:hi] {
			args = append(args, tr.ID.Bytes(), tr.Batch.Bytes(), string(tr.Kind), tr.From.Bytes(), tr.To.Bytes(),
				string(tr.Currency), tr.Amount, tr.Code, nullString(string(tr.Hold)), tr.PendingID.Bytes(),
				tr.ReversalOf.Bytes(), nullMicros(tr.ExpiresAt), micros(tr.CreatedAt), tr.FromPrev.Bytes(), tr.ToPrev.Bytes(), nullCounted(tr.Counted))
		}
		return t.exec(ctx, `INSERT INTO transfers (`+transferCols+`) VALUES `+placeholders(hi-lo, 16), args...)
	})
	return wrap("insert transfers", err)
}

// ---- idempotency

func (t *tx) Idempotency(ctx context.Context, keys []emoney.IdempotencyKey) ([]emoney.IdempotencyRecord, error) {
	var out []emoney.IdempotencyRecord
	err := each(len(keys), 256, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		byHash := make(map[[16]byte]emoney.IdempotencyKey, hi-lo)
		for _, k := range keys[lo:hi] {
			h := k.Hash()
			byHash[h] = k
			args = append(args, h[:])
		}
		rows, err := t.query(ctx, `SELECT key_hash, request_hash, result, created_at FROM idempotency WHERE key_hash IN (`+
			strings.TrimSuffix(strings.Repeat("?,", hi-lo), ",")+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r emoney.IdempotencyRecord
			var h []byte
			var created int64
			if err := rows.Scan(&h, &r.RequestHash, &r.Result, &created); err != nil {
				return err
			}
			r.IdempotencyKey = byHash[[16]byte(h)]
			r.CreatedAt = fromMicros(created)
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, wrap("idempotency", err)
}

// ClaimIdempotency needs no ON CONFLICT on SQLite: the write transaction excludes every other
// writer, so the keys found taken are all there is, and the rest can be inserted plainly.
func (t *tx) ClaimIdempotency(ctx context.Context, rs []emoney.IdempotencyRecord) ([]bool, error) {
	hashes := make([][16]byte, len(rs))
	for i, r := range rs {
		hashes[i] = r.Hash()
	}
	// Almost always every key is new: try inserting them all with OR IGNORE, which seeks each
	// key once. Only if some were taken, undo that and find out which.
	if claimed, ok, err := t.claimAll(ctx, rs, hashes); err != nil || ok {
		return claimed, wrap("claim idempotency", err)
	}
	taken, err := t.takenKeys(ctx, hashes)
	if err != nil {
		return nil, wrap("claim idempotency", err)
	}
	claimed := make([]bool, len(rs))
	free := make([]int, 0, len(rs))
	for i := range rs {
		if !taken[hashes[i]] {
			claimed[i] = true
			free = append(free, i)
		}
	}
	err = each(len(free), 256, func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for _, i := range free[lo:hi] {
			args = append(args, hashes[i][:], rs[i].RequestHash, rs[i].Result, micros(rs[i].CreatedAt))
		}
		return t.exec(ctx, `INSERT INTO idempotency (key_hash, request_hash, result, created_at) VALUES `+placeholders(hi-lo, 4), args...)
	})
	return claimed, wrap("claim idempotency", err)
}

// claimAll inserts every record, ignoring keys already taken, inside a savepoint. If all were
// inserted it reports ok; otherwise it rolls the savepoint back, leaving nothing claimed.
func (t *tx) claimAll(ctx context.Context, rs []emoney.IdempotencyRecord, hashes [][16]byte) ([]bool, bool, error) {
	if _, err := t.tx.ExecContext(ctx, `SAVEPOINT claim`); err != nil {
		return nil, false, err
	}
	var n int64
	err := each(len(rs), 256, func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for i := lo; i < hi; i++ {
			args = append(args, hashes[i][:], rs[i].RequestHash, rs[i].Result, micros(rs[i].CreatedAt))
		}
		st, err := t.s.stmt(ctx, t.tx, `INSERT OR IGNORE INTO idempotency (key_hash, request_hash, result, created_at) VALUES `+placeholders(hi-lo, 4))
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		c, err := res.RowsAffected()
		n += c
		return err
	})
	if err == nil && n == int64(len(rs)) {
		_, err = t.tx.ExecContext(ctx, `RELEASE claim`)
		claimed := make([]bool, len(rs))
		for i := range claimed {
			claimed[i] = true
		}
		return claimed, err == nil, err
	}
	if _, rerr := t.tx.ExecContext(ctx, `ROLLBACK TO claim`); rerr != nil {
		return nil, false, errors.Join(err, rerr)
	}
	if _, rerr := t.tx.ExecContext(ctx, `RELEASE claim`); rerr != nil {
		return nil, false, errors.Join(err, rerr)
	}
	return nil, false, err
}

// takenKeys returns which of the given key hashes have a record.
func (t *tx) takenKeys(ctx context.Context, hashes [][16]byte) (map[[16]byte]bool, error) {
	taken := map[[16]byte]bool{}
	err := each(len(hashes), 256, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for i := lo; i < hi; i++ {
			args = append(args, hashes[i][:])
		}
		rows, err := t.query(ctx, `SELECT key_hash FROM idempotency WHERE key_hash IN (`+strings.TrimSuffix(strings.Repeat("?,", hi-lo), ",")+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				return err
			}
			taken[[16]byte(h)] = true
		}
		return rows.Err()
	})
	return taken, err
}

func (t *tx) ReleaseIdempotency(ctx context.Context, keys []emoney.IdempotencyKey) error {
	for _, k := range keys {
		h := k.Hash()
		if err := t.exec(ctx, `DELETE FROM idempotency WHERE key_hash = ?`, h[:]); err != nil {
			return wrap("release idempotency", err)
		}
	}
	return nil
}

// ---- outbox

func (t *tx) AppendOutbox(ctx context.Context, es []emoney.OutboxEvent) error {
	err := each(len(es), 256, func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for _, e := range es[lo:hi] {
			args = append(args, e.Topic, e.Key, e.Payload, micros(e.CreatedAt))
		}
		return t.exec(ctx, `INSERT INTO outbox (topic, key, payload, created_at) VALUES `+placeholders(hi-lo, 4), args...)
	})
	return wrap("append outbox", err)
}

func (t *tx) Outbox(ctx context.Context, after int64, limit int) ([]emoney.OutboxEvent, error) {
	rows, err := t.query(ctx, `SELECT seq, topic, key, payload, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, wrap("outbox", err)
	}
	defer rows.Close()
	var out []emoney.OutboxEvent
	for rows.Next() {
		var e emoney.OutboxEvent
		var created int64
		if err := rows.Scan(&e.Seq, &e.Topic, &e.Key, &e.Payload, &created); err != nil {
			return nil, wrap("outbox", err)
		}
		e.CreatedAt = fromMicros(created)
		out = append(out, e)
	}
	return out, wrap("outbox", rows.Err())
}

// ---- audit

func (t *tx) AuditHead(ctx context.Context) (emoney.AuditHead, error) {
	var h emoney.AuditHead
	rows, err := t.query(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`)
	if err != nil {
		return h, wrap("audit head", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return h, wrap("audit head", errors.Join(rows.Err(), errors.New("audit head row missing")))
	}
	return h, wrap("audit head", rows.Scan(&h.Seq, &h.Hash))
}

// LockAuditHead is a plain read on SQLite: the write transaction already excludes other writers.
func (t *tx) LockAuditHead(ctx context.Context) (emoney.AuditHead, error) { return t.AuditHead(ctx) }

func (t *tx) AppendAudit(ctx context.Context, e emoney.AuditEntry) error {
	err := t.exec(ctx, `INSERT INTO audit_log (seq, at, actor, action, object, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, micros(e.At), e.Actor, e.Action, e.Object, e.Detail, e.PrevHash, e.Hash)
	if err == nil {
		err = t.exec(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash)
	}
	return wrap("append audit", err)
}

func (t *tx) ScanAudit(ctx context.Context, fn func(emoney.AuditEntry) error) error {
	rows, err := t.query(ctx, `SELECT seq, at, actor, action, object, detail, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return wrap("scan audit", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e emoney.AuditEntry
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return wrap("scan audit", err)
		}
		e.At = fromMicros(at)
		if err := fn(e); err != nil {
			return err
		}
	}
	return wrap("scan audit", rows.Err())
}

// nullCounted stores a transfer's counted sides, NULL for none (nearly every transfer).
func nullCounted(c emoney.CountedSides) any {
	if c == 0 {
		return nil
	}
	return int64(c)
}
