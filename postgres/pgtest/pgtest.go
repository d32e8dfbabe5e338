// Package pgtest gives tests a fresh PostgreSQL database of their own on the server named by
// EMONEY_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable),
// dropped when the test ends. Without a reachable server the test is skipped, except under
// CI=true, where that is a failure: CI must run the PostgreSQL suites.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const defaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Database creates an empty database for t and returns its DSN.
func Database(t *testing.T) string {
	t.Helper()
	server := testServer(t)
	var b [6]byte
	rand.Read(b[:])
	name := "emoney_test_" + hex.EncodeToString(b[:])
	admin(t, server, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return withDatabase(t, server, name)
}

// testServer returns the DSN of the server to make test databases on (env EMONEY_TEST_POSTGRES),
// skipping the test if it does not answer, unless CI=true, where that is a failure.
func testServer(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("EMONEY_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultServer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s (EMONEY_TEST_POSTGRES) is required under CI=true: %v", redact(dsn), err)
		}
		t.Skipf("PostgreSQL at %s is not reachable, skipping the PostgreSQL suite (set EMONEY_TEST_POSTGRES to a server's DSN): %v", redact(dsn), err)
	}
	return dsn
}

// admin runs one statement on the server's own database.
func admin(t *testing.T, server, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withDatabase returns dsn (URL or key=value form) naming database name instead.
func withDatabase(t *testing.T, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name // the last setting of a key wins
}

// redact hides a password in a URL DSN for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}

// WaitIdle waits until no session but its own is connected to the database dsn names: after a
// test kills a process that was writing, its server sessions may still be finishing a commit it
// had sent, and what the test reads next must include it.
func WaitIdle(t *testing.T, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d sessions still on the database after a minute", n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
