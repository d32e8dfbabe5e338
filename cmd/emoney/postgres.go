package main

import (
	"context"

	"emoney"
	"emoney/postgres"
)

// openPostgres opens the PostgreSQL store with its default pool size and timeouts (see
// postgres.Config; pool_max_conns, statement_timeout and lock_timeout in the DSN override them).
func openPostgres(ctx context.Context, dsn string) (emoney.Store, error) {
	s, err := postgres.Open(ctx, dsn, postgres.Config{})
	if err != nil {
		return nil, err
	}
	return s, nil
}
