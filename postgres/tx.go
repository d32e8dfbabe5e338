package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"emoney"
	"emoney/internal/row"
)

// tx implements emoney.Tx over one pgx transaction. Statements that take many rows pass them as
// arrays (unnest, = ANY), so each is one round trip whatever the row count; statements that
// belong together go in one pgx batch. pgx prepares each statement once per connection.
type tx struct {
	tx pgx.Tx

	// placeholders are the zero balance rows LockBalances inserted so that it could lock them,
	// and SaveBalances has not written since: they are deleted before commit, leaving no
	// trace of a balance nobody wrote, as on SQLite.
	placeholders map[emoney.BalanceKey]bool
}

var _ emoney.Tx = (*tx)(nil)

// scanPage is how many rows the Scan methods read per query: they page by key rather than hold
// a cursor open, so fn may use the transaction too.
const scanPage = 2000

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t time.Time) pgtype.Int8 {
	return pgtype.Int8{Int64: t.UnixMicro(), Valid: !t.IsZero()}
}

func idBytes(ids []emoney.ID) [][]byte {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = id.Bytes()
	}
	return out
}

// WriteVersion is not known: PostgreSQL cannot tell cheaply whether another session committed.
func (t *tx) WriteVersion(ctx context.Context) (int64, bool, error) { return 0, false, nil }

// ---- accounts and balances

const accountCols = `id, name, kind, flags, created_at`

func scanAccount(r pgx.Row) (emoney.Account, error) {
	var a emoney.Account
	var id []byte
	var kind string
	var flags, created int64
	if err := r.Scan(&id, &a.Name, &kind, &flags, &created); err != nil {
		return a, err
	}
	var err error
	a.ID, err = emoney.IDFromBytes(id)
	a.Kind = emoney.AccountKind(kind)
	a.Flags = emoney.AccountFlags(flags)
	a.CreatedAt = fromMicros(created)
	return a, err
}

func (t *tx) Account(ctx context.Context, id emoney.ID) (emoney.Account, error) {
	return t.oneAccount(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id.Bytes())
}

func (t *tx) AccountByName(ctx context.Context, name string) (emoney.Account, error) {
	return t.oneAccount(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, name)
}

func (t *tx) oneAccount(ctx context.Context, q string, arg any) (emoney.Account, error) {
	a, err := scanAccount(t.tx.QueryRow(ctx, q, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.Account{}, emoney.Errorf(emoney.ENotFound, "account not found")
	}
	return a, wrap("account", err)
}

func (t *tx) Accounts(ctx context.Context, ids []emoney.ID) ([]emoney.Account, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ANY($1::bytea[])`, idBytes(ids))
	if err != nil {
		return nil, wrap("accounts", err)
	}
	out, err := collect(rows, scanAccount)
	return out, wrap("accounts", err)
}

func (t *tx) ScanAccounts(ctx context.Context, fn func(emoney.Account) error) error {
	after := []byte{}
	for {
		rows, err := t.tx.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE id > $1 ORDER BY id LIMIT $2`, after, scanPage)
		if err != nil {
			return wrap("scan accounts", err)
		}
		page, err := collect(rows, scanAccount)
		if err != nil {
			return wrap("scan accounts", err)
		}
		for _, a := range page {
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].ID.Bytes()
	}
}

func (t *tx) CreateAccount(ctx context.Context, a emoney.Account) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4, $5)`,
		a.ID.Bytes(), a.Name, string(a.Kind), int64(a.Flags), micros(a.CreatedAt))
	return wrap("create account", err)
}

const balanceCols = `account_id, currency, balance, debits_pending, credits_pending, last_transfer, usage`

func scanBalance(r pgx.Row) (emoney.Balance, error) {
	var raw row.Balance
	if err := r.Scan(raw.Dest()...); err != nil {
		return emoney.Balance{}, err
	}
	return raw.Decode()
}

func (t *tx) Balances(ctx context.Context, account emoney.ID) ([]emoney.Balance, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+balanceCols+` FROM balances WHERE account_id = $1 ORDER BY currency`, account.Bytes())
	if err != nil {
		return nil, wrap("balances", err)
	}
	out, err := collect(rows, scanBalance)
	return out, wrap("balances", err)
}

func (t *tx) Balance(ctx context.Context, k emoney.BalanceKey) (emoney.Balance, error) {
	b, err := scanBalance(t.tx.QueryRow(ctx, `SELECT `+balanceCols+` FROM balances WHERE account_id = $1 AND currency = $2`,
		k.Account.Bytes(), string(k.Currency)))
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.Balance{Account: k.Account, Currency: k.Currency}, nil
	}
	return b, wrap("balance", err)
}

func (t *tx) ScanBalances(ctx context.Context, fn func(emoney.Balance) error) error {
	afterID, afterCur := []byte{}, ""
	for {
		rows, err := t.tx.Query(ctx, `SELECT `+balanceCols+` FROM balances WHERE (account_id, currency) > ($1, $2)
			ORDER BY account_id, currency LIMIT $3`, afterID, afterCur, scanPage)
		if err != nil {
			return wrap("scan balances", err)
		}
		page, err := collect(rows, scanBalance)
		if err != nil {
			return wrap("scan balances", err)
		}
		for _, b := range page {
			if err := fn(b); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		last := page[len(page)-1]
		afterID, afterCur = last.Account.Bytes(), string(last.Currency)
	}
}

// LockBalances makes sure every key has a row, then locks the rows FOR UPDATE in key order, the
// order every writer locks in; both statements go in one round trip. The first inserts zero
// balances for the keys it cannot see (NOT EXISTS spares rows already there the cost of the
// insert path): ON CONFLICT DO NOTHING waits for another transaction inserting the same row and
// then leaves that row alone. Under READ COMMITTED the locking read then returns each row as
// last committed, after waiting for any transaction holding it to end.
func (t *tx) LockBalances(ctx context.Context, keys []emoney.BalanceKey) ([]emoney.Balance, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ids := make([][]byte, len(keys))
	curs := make([]string, len(keys))
	for i, k := range keys {
		ids[i], curs[i] = k.Account.Bytes(), string(k.Currency)
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO balances (account_id, currency, balance, debits_pending, credits_pending)
		SELECT id, cur, 0, 0, 0 FROM unnest($1::bytea[], $2::text[]) AS k (id, cur)
		WHERE NOT EXISTS (SELECT FROM balances b WHERE b.account_id = k.id AND b.currency = k.cur)
		ORDER BY id, cur COLLATE "C"
		ON CONFLICT DO NOTHING
		RETURNING account_id, currency`, ids, curs)
	b.Queue(`SELECT b.account_id, b.currency, b.balance, b.debits_pending, b.credits_pending, b.last_transfer, b.usage
		FROM unnest($1::bytea[], $2::text[]) AS k (id, cur)
		JOIN balances b ON b.account_id = k.id AND b.currency = k.cur
		ORDER BY b.account_id, b.currency FOR UPDATE OF b`, ids, curs)
	br := t.tx.SendBatch(ctx, &b)
	out, err := func() ([]emoney.Balance, error) {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		inserted, err := collect(rows, func(r pgx.Row) (emoney.BalanceKey, error) {
			var k emoney.BalanceKey
			var id []byte
			var cur string
			if err := r.Scan(&id, &cur); err != nil {
				return k, err
			}
			var err error
			k.Account, err = emoney.IDFromBytes(id)
			k.Currency = emoney.Currency(cur)
			return k, err
		})
		if err != nil {
			return nil, err
		}
		if len(inserted) > 0 && t.placeholders == nil {
			t.placeholders = make(map[emoney.BalanceKey]bool, len(inserted))
		}
		for _, k := range inserted {
			t.placeholders[k] = true
		}
		if rows, err = br.Query(); err != nil {
			return nil, err
		}
		return collect(rows, scanBalance)
	}()
	if err := errors.Join(err, br.Close()); err != nil {
		return nil, wrap("lock balances", err)
	}
	if len(out) != len(keys) {
		return nil, fmt.Errorf("postgres: lock balances: locked %d of %d", len(out), len(keys))
	}
	return out, nil
}

// dropPlaceholders deletes the zero rows LockBalances inserted that nobody saved. Update calls
// it before commit.
func (t *tx) dropPlaceholders(ctx context.Context) error {
	if len(t.placeholders) == 0 {
		return nil
	}
	ids := make([][]byte, 0, len(t.placeholders))
	curs := make([]string, 0, len(t.placeholders))
	for k := range t.placeholders {
		ids, curs = append(ids, k.Account.Bytes()), append(curs, string(k.Currency))
	}
	_, err := t.tx.Exec(ctx, `DELETE FROM balances WHERE (account_id, currency) IN (SELECT * FROM unnest($1::bytea[], $2::text[]))`, ids, curs)
	t.placeholders = nil
	return wrap("drop unused balances", err)
}

// SaveBalances upserts every balance in one statement. A key given twice keeps its last value.
func (t *tx) SaveBalances(ctx context.Context, bs []emoney.Balance) error {
	if len(bs) == 0 {
		return nil
	}
	bs = lastOfEachKey(bs)
	for _, b := range bs {
		if len(t.placeholders) == 0 {
			break
		}
		delete(t.placeholders, emoney.BalanceKey{Account: b.Account, Currency: b.Currency})
	}
	ids := make([][]byte, len(bs))
	curs := make([]string, len(bs))
	bal := make([]int64, len(bs))
	dp := make([]int64, len(bs))
	cp := make([]int64, len(bs))
	last := make([][]byte, len(bs))
	usage := make([][]byte, len(bs))
	for i, b := range bs {
		ids[i], curs[i], bal[i], dp[i], cp[i], last[i], usage[i] = b.Account.Bytes(), string(b.Currency), b.Balance, b.DebitsPending, b.CreditsPending, b.Last.Bytes(), b.Usage.Encode()
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO balances (`+balanceCols+`)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bytea[], $7::bytea[])
		ON CONFLICT (account_id, currency) DO UPDATE SET balance = excluded.balance,
		debits_pending = excluded.debits_pending, credits_pending = excluded.credits_pending,
		last_transfer = excluded.last_transfer, usage = excluded.usage`, ids, curs, bal, dp, cp, last, usage)
	return wrap("save balances", err)
}

// lastOfEachKey returns bs with only the last balance of each key, since one upsert may not
// change a row twice. bs itself is returned when its keys are distinct, as the ledger's are.
func lastOfEachKey(bs []emoney.Balance) []emoney.Balance {
	at := make(map[emoney.BalanceKey]int, len(bs))
	dup := false
	for i, b := range bs {
		k := emoney.BalanceKey{Account: b.Account, Currency: b.Currency}
		if _, ok := at[k]; ok {
			dup = true
		}
		at[k] = i
	}
	if !dup {
		return bs
	}
	out := make([]emoney.Balance, 0, len(at))
	for i, b := range bs {
		if at[emoney.BalanceKey{Account: b.Account, Currency: b.Currency}] == i {
			out = append(out, b)
		}
	}
	return out
}

// ---- transfers

const transferCols = `id, batch_id, kind, debit_account, credit_account, currency, amount, code, hold, pending_id, reversal_of, expires_at, created_at, from_prev, to_prev, counted`

func scanTransfer(r pgx.Row) (emoney.Transfer, error) {
	var raw row.Transfer
	if err := r.Scan(raw.Dest()...); err != nil {
		return emoney.Transfer{}, err
	}
	return raw.Decode()
}

func (t *tx) transfers(ctx context.Context, op, q string, args ...any) ([]emoney.Transfer, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	out, err := collect(rows, scanTransfer)
	return out, wrap(op, err)
}

// transfersWhere returns the transfers whose col is one of ids, in id order.
func (t *tx) transfersWhere(ctx context.Context, op, col string, ids []emoney.ID) ([]emoney.Transfer, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return t.transfers(ctx, op, `SELECT `+transferCols+` FROM transfers WHERE `+col+` = ANY($1::bytea[]) ORDER BY id`, idBytes(ids))
}

func (t *tx) Transfers(ctx context.Context, ids []emoney.ID) ([]emoney.Transfer, error) {
	return t.transfersWhere(ctx, "transfers", "id", ids)
}

func (t *tx) Resolutions(ctx context.Context, pending []emoney.ID) ([]emoney.Transfer, error) {
	return t.transfersWhere(ctx, "resolutions", "pending_id", pending)
}

func (t *tx) Reversals(ctx context.Context, of []emoney.ID) ([]emoney.Transfer, error) {
	return t.transfersWhere(ctx, "reversals", "reversal_of", of)
}

func (t *tx) ExpiredPending(ctx context.Context, at time.Time, limit int) ([]emoney.Transfer, error) {
	return t.transfers(ctx, "expired pending", `SELECT `+transferCols+` FROM transfers p
		WHERE p.expires_at IS NOT NULL AND p.expires_at <= $1 AND p.kind = 'pending'
		AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id)
		ORDER BY p.expires_at, p.id LIMIT $2`, micros(at), limit)
}

func (t *tx) ScanTransfers(ctx context.Context, fn func(emoney.Transfer) error) error {
	after := []byte{}
	for {
		page, err := t.transfers(ctx, "scan transfers", `SELECT `+transferCols+` FROM transfers WHERE id > $1 ORDER BY id LIMIT $2`, after, scanPage)
		if err != nil {
			return err
		}
		for _, tr := range page {
			if err := fn(tr); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].ID.Bytes()
	}
}

func (t *tx) InsertTransfers(ctx context.Context, ts []emoney.Transfer) error {
	if len(ts) == 0 {
		return nil
	}
	n := len(ts)
	var (
		id, batch, from, to, pending, rev, fromPrev, toPrev = make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		kind, cur, code, hold                               = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		amount, created                                     = make([]int64, n), make([]int64, n)
		expires, counted                                    = make([]pgtype.Int8, n), make([]pgtype.Int8, n)
	)
	for i, tr := range ts {
		id[i], batch[i], from[i], to[i] = tr.ID.Bytes(), tr.Batch.Bytes(), tr.From.Bytes(), tr.To.Bytes()
		pending[i], rev[i], fromPrev[i], toPrev[i] = tr.PendingID.Bytes(), tr.ReversalOf.Bytes(), tr.FromPrev.Bytes(), tr.ToPrev.Bytes()
		kind[i], cur[i], code[i], hold[i] = string(tr.Kind), string(tr.Currency), tr.Code, string(tr.Hold)
		amount[i], created[i], expires[i] = tr.Amount, micros(tr.CreatedAt), nullMicros(tr.ExpiresAt)
		counted[i] = pgtype.Int8{Int64: int64(tr.Counted), Valid: tr.Counted != 0}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO transfers (`+transferCols+`)
		SELECT id, batch_id, kind, debit_account, credit_account, currency, amount, code, nullif(hold, ''),
			pending_id, reversal_of, expires_at, created_at, from_prev, to_prev, counted
		FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::bytea[], $5::bytea[], $6::text[], $7::bigint[], $8::text[],
			$9::text[], $10::bytea[], $11::bytea[], $12::bigint[], $13::bigint[], $14::bytea[], $15::bytea[], $16::bigint[])
		AS r (id, batch_id, kind, debit_account, credit_account, currency, amount, code, hold,
			pending_id, reversal_of, expires_at, created_at, from_prev, to_prev, counted)`,
		id, batch, kind, from, to, cur, amount, code, hold, pending, rev, expires, created, fromPrev, toPrev, counted)
	return wrap("insert transfers", err)
}

// ---- idempotency

func hashes(keys []emoney.IdempotencyKey) ([][]byte, map[[16]byte]emoney.IdempotencyKey) {
	hs := make([][]byte, len(keys))
	byHash := make(map[[16]byte]emoney.IdempotencyKey, len(keys))
	for i, k := range keys {
		h := k.Hash()
		byHash[h] = k
		hs[i] = h[:]
	}
	return hs, byHash
}

func (t *tx) Idempotency(ctx context.Context, keys []emoney.IdempotencyKey) ([]emoney.IdempotencyRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	hs, byHash := hashes(keys)
	rows, err := t.tx.Query(ctx, `SELECT key_hash, request_hash, result, created_at FROM idempotency WHERE key_hash = ANY($1::bytea[])`, hs)
	if err != nil {
		return nil, wrap("idempotency", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.IdempotencyRecord, error) {
		var rec emoney.IdempotencyRecord
		var h []byte
		var created int64
		if err := r.Scan(&h, &rec.RequestHash, &rec.Result, &created); err != nil {
			return rec, err
		}
		rec.IdempotencyKey = byHash[[16]byte(h)]
		rec.CreatedAt = fromMicros(created)
		return rec, nil
	})
	return out, wrap("idempotency", err)
}

// ClaimIdempotency inserts every record in one statement; ON CONFLICT DO NOTHING skips taken
// keys, and for a key another transaction inserted but has not committed, waits to learn
// whether it commits. Keys are inserted in hash order so that two claimers cannot deadlock.
func (t *tx) ClaimIdempotency(ctx context.Context, rs []emoney.IdempotencyRecord) ([]bool, error) {
	claimed := make([]bool, len(rs))
	if len(rs) == 0 {
		return claimed, nil
	}
	hs := make([][]byte, len(rs))
	req := make([][]byte, len(rs))
	res := make([][]byte, len(rs))
	created := make([]int64, len(rs))
	index := make(map[[16]byte]int, len(rs))
	for i, r := range rs {
		h := r.Hash()
		if _, ok := index[h]; !ok {
			index[h] = i // a key given twice is claimed, if at all, by its first record
		}
		hs[i], req[i], res[i], created[i] = h[:], r.RequestHash, r.Result, micros(r.CreatedAt)
		if res[i] == nil {
			res[i] = []byte{}
		}
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO idempotency (key_hash, request_hash, result, created_at)
		SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[]) ORDER BY 1
		ON CONFLICT DO NOTHING RETURNING key_hash`, hs, req, res, created)
	if err != nil {
		return nil, wrap("claim idempotency", err)
	}
	got, err := collect(rows, func(r pgx.Row) ([]byte, error) {
		var h []byte
		err := r.Scan(&h)
		return h, err
	})
	if err != nil {
		return nil, wrap("claim idempotency", err)
	}
	for _, h := range got {
		claimed[index[[16]byte(h)]] = true
	}
	return claimed, nil
}

func (t *tx) ReleaseIdempotency(ctx context.Context, keys []emoney.IdempotencyKey) error {
	if len(keys) == 0 {
		return nil
	}
	hs, _ := hashes(keys)
	_, err := t.tx.Exec(ctx, `DELETE FROM idempotency WHERE key_hash = ANY($1::bytea[])`, hs)
	return wrap("release idempotency", err)
}

// ---- outbox

// AppendOutbox inserts the events in one statement, in order, after taking the outbox's
// advisory lock, which is held to commit: a sequence hands out numbers in the order
// transactions ask, not the order they commit, so without the lock a reader following Seq
// could pass over an event that commits later with a smaller one.
func (t *tx) AppendOutbox(ctx context.Context, es []emoney.OutboxEvent) error {
	if len(es) == 0 {
		return nil
	}
	topic := make([]string, len(es))
	key := make([]string, len(es))
	payload := make([][]byte, len(es))
	created := make([]int64, len(es))
	for i, e := range es {
		topic[i], key[i], payload[i], created[i] = e.Topic, e.Key, e.Payload, micros(e.CreatedAt)
		if payload[i] == nil {
			payload[i] = []byte{}
		}
	}
	var b pgx.Batch
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, outboxLock)
	b.Queue(`INSERT INTO outbox (topic, key, payload, created_at)
		SELECT topic, key, payload, created_at
		FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[]) WITH ORDINALITY AS e (topic, key, payload, created_at, n)
		ORDER BY n`, topic, key, payload, created)
	return wrap("append outbox", t.tx.SendBatch(ctx, &b).Close())
}

func (t *tx) Outbox(ctx context.Context, after int64, limit int) ([]emoney.OutboxEvent, error) {
	rows, err := t.tx.Query(ctx, `SELECT seq, topic, key, payload, created_at FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, wrap("outbox", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.OutboxEvent, error) {
		var e emoney.OutboxEvent
		var created int64
		if err := r.Scan(&e.Seq, &e.Topic, &e.Key, &e.Payload, &created); err != nil {
			return e, err
		}
		e.CreatedAt = fromMicros(created)
		return e, nil
	})
	return out, wrap("outbox", err)
}

// ---- audit

func (t *tx) AuditHead(ctx context.Context) (emoney.AuditHead, error) {
	return t.auditHead(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`)
}

// LockAuditHead locks the head row until the transaction ends: appends from every process
// take turns, so they form one chain.
func (t *tx) LockAuditHead(ctx context.Context) (emoney.AuditHead, error) {
	return t.auditHead(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`)
}

func (t *tx) auditHead(ctx context.Context, q string) (emoney.AuditHead, error) {
	var h emoney.AuditHead
	err := t.tx.QueryRow(ctx, q).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		err = errors.New("audit head row missing")
	}
	return h, wrap("audit head", err)
}

func (t *tx) AppendAudit(ctx context.Context, e emoney.AuditEntry) error {
	detail, prev := e.Detail, e.PrevHash
	if detail == nil {
		detail = []byte{}
	}
	if prev == nil {
		prev = []byte{}
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO audit_log (seq, at, actor, action, object, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.Seq, micros(e.At), e.Actor, e.Action, e.Object, detail, prev, e.Hash)
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, e.Seq, e.Hash)
	return wrap("append audit", t.tx.SendBatch(ctx, &b).Close())
}

func (t *tx) ScanAudit(ctx context.Context, fn func(emoney.AuditEntry) error) error {
	var after int64 = -1 << 63
	for {
		rows, err := t.tx.Query(ctx, `SELECT seq, at, actor, action, object, detail, prev_hash, hash FROM audit_log
			WHERE seq > $1 ORDER BY seq LIMIT $2`, after, scanPage)
		if err != nil {
			return wrap("scan audit", err)
		}
		page, err := collect(rows, func(r pgx.Row) (emoney.AuditEntry, error) {
			var e emoney.AuditEntry
			var at int64
			if err := r.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
				return e, err
			}
			e.At = fromMicros(at)
			return e, nil
		})
		if err != nil {
			return wrap("scan audit", err)
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

// collect reads every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
