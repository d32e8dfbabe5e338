package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"emoney"
	"emoney/banksim"
	emhttp "emoney/http"

	"github.com/pquerna/otp/totp"
)

// TopUpConfig sets up the top-up benchmark.
type TopUpConfig struct {
	URL string // the API's base URL
	// Sim is the bank simulator the API links with (in-process): the bench adds a customer
	// with an account per user to it, and reads the SMS codes its bank sends them, as the
	// customer's phone would.
	Sim         *banksim.Sim
	Banks       []string // bank codes to spread the users over (default: all of Sim's)
	Users       int      // wallets, each with its own linked account (default Concurrency)
	Concurrency int      // keep-alive clients (default 64)
	Duration    time.Duration
	Log         func(format string, args ...any)
	// PhoneCode returns the last code the wallet's SMS sink sent to phone (tier 1).
	PhoneCode func(phone string) string
	// Linked, if set, is called once every user is linked, before the run.
	Linked func()
}

// TopUp measures top-ups through linked bank accounts over the API: each op is a top-up
// (POST /api/v1/topups with a link and its own Idempotency-Key) that the bank confirmed and the
// ledger posted; one answered pending or refused counts as an error. Before the run every user
// signs up, verifies phone and identity (tier 2), enrols TOTP, steps up and links an account at
// a simulated bank through the bank's own login, one-time-code and consent pages, exactly as a
// customer does.
func TopUp(ctx context.Context, cfg TopUpConfig) (Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Users <= 0 {
		cfg.Users = cfg.Concurrency
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	if len(cfg.Banks) == 0 {
		for _, b := range cfg.Sim.Banks() {
			cfg.Banks = append(cfg.Banks, b.Code)
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * cfg.Concurrency, MaxIdleConnsPerHost: 2 * cfg.Concurrency}, Timeout: 30 * time.Second}
	run := time.Now().UnixNano()
	cfg.Log("bench topup: signing up, verifying and linking %d users over %d banks", cfg.Users, len(cfg.Banks))
	users := make([]*emhttp.Client, cfg.Users)
	links := make([]string, cfg.Users)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		slots = make(chan struct{}, 4)
	)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			c, link, err := linkedUser(ctx, cfg, hc, run, i)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("bench topup: user %d: %w", i, err))
				mu.Unlock()
				return
			}
			users[i], links[i] = c, link
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return Result{}, errors.Join(errs...)
	}
	if cfg.Linked != nil {
		cfg.Linked()
	}
	cfg.Log("bench topup: %d keep-alive clients for %s", cfg.Concurrency, cfg.Duration)
	rngs := make([]*rand.Rand, cfg.Concurrency)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(uint64(run), uint64(i)))
	}
	r := Loop(ctx, cfg.Concurrency, cfg.Duration, func(ctx context.Context, w, n int) error {
		u := (w + n*cfg.Concurrency) % len(users)
		op, err := users[u].TopUpLink(ctx, fmt.Sprintf("bench-%d-%d-%d", run, w, n), links[u], 1+rngs[w].Int64N(1000))
		if err == nil && op.Status != "succeeded" {
			err = fmt.Errorf("top-up %s: %s", op.ID, op.Status)
		}
		return err
	})
	r.Name = "topup"
	return r, nil
}

// linkedUser makes bench user i: a wallet at tier 2 with an account at one of cfg.Banks linked
// to it, and returns its client and the link's id.
func linkedUser(ctx context.Context, cfg TopUpConfig, hc *http.Client, run int64, i int) (*emhttp.Client, string, error) {
	code := cfg.Banks[i%len(cfg.Banks)]
	// Customers come from addresses of their own, as the proxy in front of the server reports
	// them (the in-process server trusts 127.0.0.1), each on its own phone.
	c := &emhttp.Client{Base: cfg.URL, HTTP: hc, ForwardedFor: fmt.Sprintf("198.18.%d.%d", i/250, 1+i%250)}
	email := fmt.Sprintf("bench-topup-%d-%d@example.com", run, i)
	if _, _, err := c.SignUp(ctx, email, "bench password 1"); err != nil {
		return nil, "", err
	}
	if err := c.Login(ctx, email, "bench password 1", fmt.Sprintf("bench-phone-%d", i)); err != nil {
		return nil, "", err
	}
	phone := fmt.Sprintf("+8170%08d", i)
	if err := c.StartPhone(ctx, phone); err != nil {
		return nil, "", err
	}
	if _, err := c.ConfirmPhone(ctx, cfg.PhoneCode(phone)); err != nil {
		return nil, "", err
	}
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly) // one person per user
	if _, err := c.EKYC(ctx, emhttp.Document{Type: "drivers_licence", Number: fmt.Sprintf("BENCH-T%d", i),
		NameKanji: "試験 花子", NameKana: "シケン ハナコ", BirthDate: birth}); err != nil {
		return nil, "", err
	}
	// The same person at the bank: holder name in Zengin half-width kana, an account with room
	// for every top-up of the run.
	login := fmt.Sprintf("bench%d-%d", run%1_000_000, i)
	if _, err := cfg.Sim.AddCustomer(code, banksim.NewCustomer{LoginID: login, Password: "bank password 1", NameKanji: "試験 花子",
		HolderKana: "ｼｹﾝ ﾊﾅｺ", BirthDate: birth, Phone: phone}); err != nil {
		return nil, "", err
	}
	number := fmt.Sprintf("%07d", i)
	if _, err := cfg.Sim.AddAccount(code, login, "001", number, "0000", emoney.MaxAmount); err != nil {
		return nil, "", err
	}
	secret, _, err := c.EnrolTOTP(ctx)
	if err != nil {
		return nil, "", err
	}
	now := time.Now()
	otp, _ := totp.GenerateCode(secret, now)
	if err := c.ConfirmTOTP(ctx, otp); err != nil {
		return nil, "", err
	}
	otp, _ = totp.GenerateCode(secret, now.Add(30*time.Second)) // a code works once: the next step's
	if err := c.StepUp(ctx, otp); err != nil {
		return nil, "", err
	}
	st, err := c.StartLink(ctx, code)
	if err != nil {
		return nil, "", err
	}
	back, err := banksim.NewBrowser().Authorize(st.AuthorizationURL, banksim.SignIn{LoginID: login, Password: "bank password 1",
		Account: "001-" + number, Code: func() (string, error) {
			msgs, err := cfg.Sim.OTPs(code, phone)
			if err != nil || len(msgs) == 0 {
				return "", errors.New("no SMS code from the bank")
			}
			return msgs[len(msgs)-1].Code, nil
		}})
	if err != nil {
		return nil, "", err
	}
	// The customer's browser lands back on the wallet's callback.
	req, err := http.NewRequestWithContext(ctx, "GET", back.String(), nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("link callback: HTTP %d", resp.StatusCode)
	}
	ls, err := c.Links(ctx)
	if err != nil {
		return nil, "", err
	}
	for _, l := range ls {
		if l.Status == "active" {
			return c, l.ID, nil
		}
	}
	return nil, "", fmt.Errorf("no active link after linking at bank %s: %+v", code, ls)
}
