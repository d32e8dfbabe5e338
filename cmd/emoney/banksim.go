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
// APIs, partner notifications, the admin API and (with --legacy) the 2020 legacy endpoint on one
// listener, until SIGINT or SIGTERM. State is in memory and gone when it stops.
func cmdBanksim(ctx context.Context, e env, args []string) error {
	fs := e.flags("banksim")
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	token := fs.String("admin-token", e.getenv("EMONEY_BANKSIM_ADMIN_TOKEN"), "bearer token of the admin API (env EMONEY_BANKSIM_ADMIN_TOKEN; default: one is generated and printed)")
	seed := fs.Int("seed-customers", 0, "demo customers (with one account each) to create per bank")
	legacy := fs.Bool("legacy", false, "also serve the 2020 legacy endpoint (holder name + account number + PIN, no second factor), for the simulator's legacy mode")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *seed < 0 || *seed > 999 {
		return errors.New("--seed-customers is 0 to 999")
	}
	bs, err := startBanksim(*addr, *token, *seed, *legacy)
	if err != nil {
		return err
	}
	defer bs.stop()
	sim, base, seeded := bs.sim, bs.base, bs.seeded
	out := e.stdout
	banks := sim.Banks()
	fmt.Fprintf(out, "emoney banksim: serving on %s (%d banks; state in memory)\n", base, len(banks))
	for _, b := range banks {
		fmt.Fprintf(out, "  %s  %-28s %-8s issuer %s\n", b.Code, b.Name, b.Kind, sim.Issuer(b.Code))
	}
	if *legacy {
		fmt.Fprintf(out, "legacy endpoint ON (--legacy): %s/banks/{code}/legacy/link takes holder name, account number and PIN, no second factor\n", base)
	}
	if bs.generated {
		// A development tool: the operator needs the token it made, so it is shown (once).
		fmt.Fprintf(out, "admin token (generated; choose one with --admin-token or EMONEY_BANKSIM_ADMIN_TOKEN): %s\n", bs.token)
	}
	if len(seeded) > 0 {
		fmt.Fprintf(out, "seeded %d customers per bank: logins demo001…demo%03d, password pass-<bank>-<NNN>, legacy PIN 1<NNN>;\n", *seed, *seed)
		fmt.Fprintf(out, "odd-numbered customers use an authenticator app, even ones get SMS codes. Read them (TOTP secrets,\n")
		fmt.Fprintf(out, "accounts) and the SMS outbox with the admin API, e.g.:\n")
		fmt.Fprintf(out, "  curl -H \"Authorization: Bearer $TOKEN\" %s/admin/banks/0001/customers\n", base)
		fmt.Fprintf(out, "  curl -H \"Authorization: Bearer $TOKEN\" %s/admin/banks/0001/otp\n", base)
	}

	select {
	case err := <-bs.served:
		return err
	case <-ctx.Done():
	}
	return nil
}

// runningBanksim is a bank simulator serving on its own listener.
type runningBanksim struct {
	sim       *banksim.Sim
	base      string // http://host:port
	token     string // the admin API's bearer token
	generated bool   // token was made here (the caller shows it)
	seeded    []banksim.SeededCustomer
	served    chan error // Serve's error, if it stops by itself
	srv       *http.Server
}

// startBanksim starts a simulator on addr ("127.0.0.1:0" for any free port) with the admin
// token (generated if empty), seed demo customers per bank, and the 2020 legacy endpoint if
// legacy.
func startBanksim(addr, token string, seed int, legacy bool) (*runningBanksim, error) {
	bs := &runningBanksim{token: token, generated: token == "", served: make(chan error, 1)}
	if bs.generated {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		bs.token = "bsadm_" + hex.EncodeToString(b)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bank simulator address: %w", err)
	}
	bs.base = "http://" + ln.Addr().String()
	bs.sim = banksim.New(banksim.Config{BaseURL: bs.base, AdminToken: bs.token, Legacy: legacy})
	if seed > 0 {
		if bs.seeded, err = bs.sim.Seed(seed); err != nil {
			ln.Close()
			return nil, err
		}
	}
	bs.srv = &http.Server{Handler: bs.sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := bs.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			bs.served <- err
		}
		close(bs.served)
	}()
	return bs, nil
}

// stop shuts the simulator down; requests held by an injected timeout do not hold it.
func (bs *runningBanksim) stop() {
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := bs.srv.Shutdown(sctx); err != nil {
		bs.srv.Close()
	}
}
