// Package postgres is the PostgreSQL store: a pgx connection pool over one database, which
// several emoney processes may share. It implements emoney.Store and holds no business rules.
//
// Write transactions run at READ COMMITTED and serialise where it matters with row locks:
// Tx.LockBalances locks balance rows FOR UPDATE in key order, idempotency claims and pending
// resolutions wait on unique indexes, and the audit head is one locked row. A transaction that
// loses a race PostgreSQL cannot resolve (deadlock, serialisation failure) is run again.
// Commits are durable: the store never turns synchronous_commit off.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"emoney"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys ("emoney" followed by a number), taken with pg_advisory_xact_lock.
const (
	migrateLock int64 = 0x656d6f6e6579_01 // one migrating process at a time
	outboxLock  int64 = 0x656d6f6e6579_02 // outbox appends: Seq order is commit order
)

// Config tunes a Store. Zero values pick the defaults; a value set in the DSN is kept unless the
// Config sets one.
type Config struct {
	// MaxConns bounds the pool (default 8, or pool_max_conns from the DSN). Each write
	// transaction and each View holds one connection while it runs.
	MaxConns int
	// StatementTimeout is PostgreSQL's statement_timeout on every connection (default 30s):
	// a statement running longer is cancelled and its transaction fails. Negative turns it off.
	StatementTimeout time.Duration
	// LockTimeout is PostgreSQL's lock_timeout (default 10s): the longest one statement waits
	// for a row lock (a balance another transaction holds, say). Negative turns it off.
	LockTimeout time.Duration
	// IdleInTransactionTimeout is PostgreSQL's idle_in_transaction_session_timeout (default
	// 60s): a session whose transaction sits idle that long is ended, so that a stuck process
	// cannot hold balance locks forever. Negative turns it off.
	IdleInTransactionTimeout time.Duration
}

// Store is the PostgreSQL implementation of emoney.Store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ emoney.Store = (*Store)(nil)

// Open connects to the database dsn names (postgres://… or key=value form) and checks that
// it answers. It does not migrate.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	switch {
	case cfg.MaxConns > 0:
		pc.MaxConns = int32(cfg.MaxConns)
	case !strings.Contains(dsn, "pool_max_conns"):
		pc.MaxConns = 8
	}
	rp := pc.ConnConfig.RuntimeParams
	setTimeout(rp, "statement_timeout", cfg.StatementTimeout, 30*time.Second)
	setTimeout(rp, "lock_timeout", cfg.LockTimeout, 10*time.Second)
	setTimeout(rp, "idle_in_transaction_session_timeout", cfg.IdleInTransactionTimeout, 60*time.Second)
	if _, ok := rp["application_name"]; !ok {
		rp["application_name"] = "emoney"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database, err)
	}
	return &Store{pool: pool}, nil
}

// setTimeout sets a timeout parameter in milliseconds: d if set, else the DSN's, else def.
func setTimeout(rp map[string]string, name string, d, def time.Duration) {
	if d == 0 {
		if _, ok := rp[name]; ok {
			return
		}
		d = def
	}
	ms := d.Milliseconds()
	switch {
	case d < 0:
		ms = 0 // PostgreSQL's "no timeout"
	case ms == 0:
		ms = 1
	}
	rp[name] = strconv.FormatInt(ms, 10)
}

// Kind returns "postgres".
func (s *Store) Kind() string { return "postgres" }

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Migrate applies the embedded migrations that have not been applied yet, each in its own
// transaction under an advisory lock, so that processes migrating at once take turns.
func (s *Store) Migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("postgres: migration %s: bad name", name)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := s.migrate(ctx, v, string(body)); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, version int, body string) error {
	pgtx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer rollback(pgtx)
	if _, err := pgtx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return err
	}
	if _, err := pgtx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, applied_at bigint NOT NULL)`); err != nil {
		return err
	}
	var applied bool
	if err := pgtx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&applied); err != nil {
		return err
	}
	if applied {
		return nil
	}
	if _, err := pgtx.Exec(ctx, body); err != nil { // no arguments: the simple protocol, which runs many statements
		return err
	}
	if _, err := pgtx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, time.Now().UnixMicro()); err != nil {
		return err
	}
	return pgtx.Commit(ctx)
}

// SchemaVersion returns the last applied migration, 0 for an empty database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	if pgCode(err) == "42P01" { // undefined_table: never migrated
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}

// maxAttempts bounds how often Update runs fn when its transaction loses a race.
const maxAttempts = 5

// Update runs fn in a READ COMMITTED transaction. A deadlock or serialisation failure anywhere
// in it (in fn's statements or at commit) rolls it back and runs fn again, up to five times in
// all, after a short randomised pause; other errors are returned as they are.
func (s *Store) Update(ctx context.Context, fn func(emoney.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.update(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		pause := time.Duration(attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

func (s *Store) update(ctx context.Context, fn func(emoney.Tx) error) error {
	pgtx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	t := &tx{tx: pgtx}
	if err := fn(t); err != nil {
		rollback(pgtx)
		return err
	}
	if err := t.dropPlaceholders(ctx); err != nil {
		rollback(pgtx)
		return err
	}
	if err := pgtx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// View runs fn in a REPEATABLE READ, READ ONLY transaction: every read in it sees the one
// snapshot taken at its first statement.
func (s *Store) View(ctx context.Context, fn func(emoney.ReadTx) error) error {
	pgtx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer rollback(pgtx)
	return fn(&tx{tx: pgtx})
}

// rollback ends pgtx if it is still open. It does not use the caller's context, which may be
// the reason for rolling back: a rollback cut short would cost the connection.
func rollback(pgtx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pgtx.Rollback(ctx) // an error leaves the connection closed, which the pool replaces
}

// pgCode returns the SQLSTATE of the first PostgreSQL error in err's chain, "" if none.
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// retryable reports whether err is a race lost to another transaction, which the same work
// may win when run again: serialization_failure or deadlock_detected.
func retryable(err error) bool {
	c := pgCode(err)
	return c == "40001" || c == "40P01"
}

// wrap names the operation that failed. A unique violation is a conflict the caller may see,
// without the driver's text (which names constraints); other errors stay internal.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *emoney.Error
	if errors.As(err, &e) {
		return err
	}
	if pgCode(err) == "23505" { // unique_violation
		return &emoney.Error{Code: emoney.EConflict, Message: op + ": already exists", Err: err}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
