package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"emoney/banksim"
)

// cmdBanksim runs the bank simulator standalone: every bank's authorization server, resource
// APIs, partner notifications, legacy endpoint and the admin API on one listener, until SIGINT or
// SIGTERM. State is in memory and gone when it stops.
func cmdBanksim(ctx context.Context, e env, args []string) error {
	fs := e.flags("banksim")
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	token := fs.String("admin-token", e.getenv("EMONEY_BANKSIM_ADMIN_TOKEN"), "bearer token of the admin API (env EMONEY_BANKSIM_ADMIN_TOKEN; default: one is generated and printed)")
	seed := fs.Int("seed-customers", 0, "demo customers (with one account each) to create per bank")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *seed < 0 || *seed > 999 {
		return errors.New("--seed-customers is 0 to 999")
	}
	generated := *token == ""
	if generated {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		*token = "bsadm_" + hex.EncodeToString(b)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	base := "http://" + ln.Addr().String()
	sim := banksim.New(banksim.Config{BaseURL: base, AdminToken: *token})
	var seeded []banksim.SeededCustomer
	if *seed > 0 {
		if seeded, err = sim.Seed(*seed); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	out := e.stdout
	banks := sim.Banks()
	fmt.Fprintf(out, "emoney banksim: serving on %s (%d banks; state in memory)\n", base, len(banks))
	for _, b := range banks {
		fmt.Fprintf(out, "  %s  %-28s %-8s issuer %s\n", b.Code, b.Name, b.Kind, sim.Issuer(b.Code))
	}
	if generated {
		// A development tool: the operator needs the token it made, so it is shown (once).
		fmt.Fprintf(out, "admin token (generated; choose one with --admin-token or EMONEY_BANKSIM_ADMIN_TOKEN): %s\n", *token)
	}
	if len(seeded) > 0 {
		fmt.Fprintf(out, "seeded %d customers per bank: logins demo001…demo%03d, password pass-<bank>-<NNN>, legacy PIN 1<NNN>;\n", *seed, *seed)
		fmt.Fprintf(out, "odd-numbered customers use an authenticator app, even ones get SMS codes. Read them (TOTP secrets,\n")
		fmt.Fprintf(out, "accounts) and the SMS outbox with the admin API, e.g.:\n")
		fmt.Fprintf(out, "  curl -H \"Authorization: Bearer $TOKEN\" %s/admin/banks/0001/customers\n", base)
		fmt.Fprintf(out, "  curl -H \"Authorization: Bearer $TOKEN\" %s/admin/banks/0001/otp\n", base)
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close() // requests held by an injected timeout do not hold the exit
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
