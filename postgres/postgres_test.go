package postgres_test

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

	"emoney"
	"emoney/postgres"
	"emoney/storetest"
)

const defaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func TestConformance(t *testing.T) {
	server := testServer(t)
	storetest.Run(t, func(t *testing.T) storetest.Opener { return newDatabase(t, server) })
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

// newDatabase creates an empty database on server for one test, drops it when the test ends,
// and returns an Opener of migrated stores on it.
func newDatabase(t *testing.T, server string) storetest.Opener {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "emoney_test_" + hex.EncodeToString(b[:])
	admin(t, server, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	dsn := withDatabase(t, server, name)
	return func(t *testing.T) emoney.Store {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := postgres.Open(ctx, dsn, postgres.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
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
