// Package sqlite is the embedded store: one SQLite file in WAL mode with synchronous=FULL, so a
// commit that returned is on disk. It implements emoney.Store and holds no business rules.
//
// One connection writes (BEGIN IMMEDIATE, so a writer takes the database's write lock before it
// reads anything it will change); several read. Other processes may open the same file: SQLite's
// lock serialises their writers, and busy_timeout makes them wait rather than fail.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"emoney"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite implementation of emoney.Store.
type Store struct {
	path   string
	writer *sql.DB
	reader *sql.DB

	writeMu      sync.Mutex // one write transaction at a time in this process
	dataVersion  int64      // the writer's PRAGMA data_version at its last look; under writeMu
	writeVersion int64      // see tx.WriteVersion; under writeMu

	stop, stopped chan struct{} // the checkpointer's
	closeOnce     sync.Once
	closeErr      error

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt // prepared on the writer, by SQL text
	wanted  []string             // statements to prepare once the writer is free
	rstmts  map[string]*sql.Stmt // prepared on the readers (on each connection when first used there)
	rwanted []string             // read statements to prepare once a read transaction has ended
}

// readers is how many read connections the store keeps.
const readers = 8

// maxReadStmts bounds the read statements kept prepared (texts with generated placeholder
// lists come in a few sizes, but a bound costs nothing).
const maxReadStmts = 1024

var _ emoney.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path. It does not migrate.
func Open(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create folder: %w", err)
		}
	}
	pragmas := "_pragma=page_size(1024)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(0)&_pragma=cache_size(-65536)&_pragma=temp_store(memory)&_pragma=journal_size_limit(67108864)"
	// The writer does not checkpoint on commit (that would put a copy of every page and a second
	// fsync on the commit path); a background checkpointer does, from a reader connection.
	writer, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writing connection, kept open: SQLite has one writer anyway, and WriteVersion's
	// data_version is a property of the connection.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	if err := writer.Ping(); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Readers are kept open as many as may be open: a connection closed when the pool has too
	// many idle ones is opened again (pragmas and all) on the next burst of reads.
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	s := &Store{path: path, writer: writer, reader: reader, stmts: map[string]*sql.Stmt{}, rstmts: map[string]*sql.Stmt{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.checkpointer()
	return s, nil
}

// checkpointer copies committed pages from the WAL into the database file in the background
// (PASSIVE: it never blocks the writer or readers), so the WAL is reset and stays small.
func (s *Store) checkpointer() {
	defer close(s.stopped)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.reader.Exec(`PRAGMA wal_checkpoint(PASSIVE)`) // best effort: the next tick tries again
		}
	}
}

// Kind returns "sqlite".
func (s *Store) Kind() string { return "sqlite" }

// Close closes both connection pools.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.stopped
		s.mu.Lock()
		for _, st := range s.stmts {
			st.Close()
		}
		for _, st := range s.rstmts {
			st.Close()
		}
		s.stmts, s.rstmts = map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
		s.mu.Unlock()
		s.closeErr = errors.Join(s.writer.Close(), s.reader.Close())
	})
	return s.closeErr
}

// Migrate applies the embedded migrations that have not been applied yet, each in its own
// transaction.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: bad name", name)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := s.writer.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixMicro()); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
	}
	return nil
}

// SchemaVersion returns the last applied migration, 0 for an empty database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.reader.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return 0, nil
		}
		return 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Update runs fn in a write transaction (BEGIN IMMEDIATE). A busy database is waited for
// (busy_timeout) and then retried a few times before giving up.
func (s *Store) Update(ctx context.Context, fn func(emoney.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.update(ctx, fn)
		if !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
	return err
}

func (s *Store) update(ctx context.Context, fn func(emoney.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	sqltx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer s.prepareWanted(ctx)
	t := &tx{s: s, tx: sqltx, write: true}
	if err := fn(t); err != nil {
		sqltx.Rollback()
		s.writeVersion += 2 // whatever happened, no ledger may trust what it cached
		return err
	}
	err = sqltx.Commit()
	s.writeVersion++ // one commit through this handle; a failed one moves it too
	if err != nil {
		s.writeVersion++
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// View runs fn in a read transaction: WAL gives it one snapshot, taken at its first read.
func (s *Store) View(ctx context.Context, fn func(emoney.ReadTx) error) error {
	sqltx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	err = fn(&tx{s: s, tx: sqltx})
	sqltx.Rollback()
	s.prepareWantedReads(ctx) // once this transaction's connection is back in the pool
	return err
}

// readStmt returns query as a statement of the read transaction sqltx: prepared once on the
// readers (database/sql then prepares it on each connection the first time it is used there)
// and reused. A statement seen for the first time is prepared for this transaction only, and
// on the readers after it ends: preparing on the pool now could wait for a connection while
// this transaction holds one.
func (s *Store) readStmt(ctx context.Context, sqltx *sql.Tx, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st, ok := s.rstmts[query]
	if !ok && len(s.rstmts) < maxReadStmts {
		s.rwanted = append(s.rwanted, query)
	}
	s.mu.Unlock()
	if ok {
		return sqltx.StmtContext(ctx, st), nil
	}
	return sqltx.PrepareContext(ctx, query)
}

// prepareWantedReads prepares on the readers the statements read transactions asked for.
func (s *Store) prepareWantedReads(ctx context.Context) {
	s.mu.Lock()
	wanted := s.rwanted
	s.rwanted = nil
	s.mu.Unlock()
	for _, q := range wanted {
		s.mu.Lock()
		_, ok := s.rstmts[q]
		s.mu.Unlock()
		if ok {
			continue
		}
		st, err := s.reader.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			continue // asked for again next time
		}
		s.mu.Lock()
		if _, ok := s.rstmts[q]; ok {
			st.Close()
		} else {
			s.rstmts[q] = st
		}
		s.mu.Unlock()
	}
}

// stmt returns query as a statement of sqltx: prepared once on the writer and reused. The
// writer's one connection is busy with sqltx, so a statement seen for the first time is prepared
// for this transaction only, and on the writer after it ends.
func (s *Store) stmt(ctx context.Context, sqltx *sql.Tx, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st, ok := s.stmts[query]
	if !ok {
		s.wanted = append(s.wanted, query)
	}
	s.mu.Unlock()
	if ok {
		return sqltx.StmtContext(ctx, st), nil
	}
	return sqltx.PrepareContext(ctx, query)
}

// prepareWanted prepares on the writer the statements transactions asked for.
func (s *Store) prepareWanted(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.wanted {
		if _, ok := s.stmts[q]; ok {
			continue
		}
		if st, err := s.writer.PrepareContext(ctx, q); err == nil {
			s.stmts[q] = st
		}
	}
	s.wanted = nil
}

func sqliteCode(err error) int {
	var e *sqlite3.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isBusy(err error) bool {
	c := sqliteCode(err) & 0xff
	return c == sqlite3lib.SQLITE_BUSY || c == sqlite3lib.SQLITE_LOCKED
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
}
