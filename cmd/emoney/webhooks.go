package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"emoney/webhook"
)

// cmdPartnerWebhook sets where a merchant's events are POSTed and prints a new signing secret
// once (running it again rotates the secret).
func cmdPartnerWebhook(ctx context.Context, e env, args []string) error {
	fs := e.flags("partner webhook")
	db := e.dbFlag(fs)
	keyset := e.keysetFlag(fs)
	name := fs.String("name", "", "the merchant's name")
	url := fs.String("url", "", "where to POST its events: https://… (http://localhost in development)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openMigrated(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	keys, err := loadKeys(*keyset, *db, slog.New(slog.NewTextHandler(e.stderr, nil)))
	if err != nil {
		return err
	}
	// Development is the only mode so far, so http://localhost is accepted; the dispatcher of
	// a production server refuses it when it sends.
	wh := webhook.New(s, keys, webhook.Config{AllowInsecure: true})
	p, ep, secret, err := wh.SetEndpointByName(ctx, *name, *url, "cli:"+os.Getenv("USER"))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "partner %q (%s) now gets its events at %s; their signing secret is shown this once:\n", p.Name, p.ID, ep.URL)
	fmt.Fprintln(e.stdout, secret)
	return nil
}
