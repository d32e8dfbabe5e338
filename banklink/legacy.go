package banklink

// The 2020 protocol, for comparison (docs/banks.md): a development server run with
// `emoney serve --legacy-linking` links a bank account the way wallets did in 2020 — holder
// name, branch, account number and the four-digit PIN, from any signed-in customer, even an
// e-mail-only tier 0 wallet; no step-up, no bank login or second factor, no holder match
// against eKYC, no cooling-off, no one-account-one-wallet. It exists so that the attack
// simulator's legacy mode can run against a real server and show threat T1 succeed; nothing in
// the hardened protocol calls it, and production refuses to start with it.
//
// The wallet passes the PIN to the bank once and neither stores nor logs it; the bank's legacy
// direct-debit token is sealed (package pii) on a link of method emoney.LinkLegacy. Top-ups
// through such a link use the bank's legacy debit endpoint (LegacyConnector) through the same
// money.BankOps path as any other: pending hold → bank → post or void, reconciler.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"unicode/utf8"

	"emoney"
	"emoney/bank"
	"emoney/identity"
)

// LegacyMethod is the bank_link method of shared/specs/events.md a legacy link is recorded
// with in the audit log: "pin".
const LegacyMethod = "pin"

// ReasonLegacyRefused is the decline reason when the bank refuses the holder name, account
// or PIN.
const ReasonLegacyRefused = "bank_refused"

// LegacyRequest is what a 2020 wallet asked its customer for.
type LegacyRequest struct {
	Bank          string `json:"bank"`
	HolderKana    string `json:"holder_kana"`
	Branch        string `json:"branch"`
	AccountNumber string `json:"account_number"`
	PIN           string `json:"pin"`
}

// String never shows the PIN or the account number: a request logged by mistake leaks neither.
func (r LegacyRequest) String() string {
	return "banklink.LegacyRequest{bank: " + r.Bank + ", account: [redacted], pin: [redacted]}"
}

// GoString is String, for %#v.
func (r LegacyRequest) GoString() string { return r.String() }

// legacyToken is what a legacy link seals as its tokens.
type legacyToken struct {
	Token string `json:"token"`
}

// Legacy links accounts with the 2020 protocol. It is safe for concurrent use.
type Legacy struct {
	l *Linker
}

// Legacy returns the 2020 linking protocol over l's banks, store, keys and policies. Only a
// development server makes one (serve --legacy-linking).
func (l *Linker) Legacy() *Legacy { return &Legacy{l: l} }

var (
	threeDigits = regexp.MustCompile(`^[0-9]{3}$`)
	sevenDigits = regexp.MustCompile(`^[0-9]{7}$`)
	fourDigits  = regexp.MustCompile(`^[0-9]{4}$`)
)

func (r LegacyRequest) validate() error {
	switch {
	case !bankCode.MatchString(r.Bank):
		return emoney.FieldError("bank", "bank is a four-digit Zengin bank code")
	case r.HolderKana == "" || utf8.RuneCountInString(r.HolderKana) > 60 || !utf8.ValidString(r.HolderKana):
		return emoney.FieldError("holder_kana", "holder_kana is the account holder's name in katakana, 1 to 60 characters")
	case !threeDigits.MatchString(r.Branch):
		return emoney.FieldError("branch", "branch is three digits")
	case !sevenDigits.MatchString(r.AccountNumber):
		return emoney.FieldError("account_number", "account_number is seven digits")
	case !fourDigits.MatchString(r.PIN):
		return emoney.FieldError("pin", "pin is four digits")
	}
	return nil
}

// Link links the account req names to p's wallet, as in 2020: whatever p's tier, with nothing
// but what req holds. The only checks are the bank's (holder name, account, PIN) and the
// operator's switches: the bank's new_links kill switch and a disabled bank stop it like any
// link. Audited "link.active" (method "pin") or "link.failed"; neither names the account or the
// PIN. Errors: invalid (field named; bank for one not configured), suspended, declined (reason
// bank_refused: the bank refused the name, account or PIN), bank_unavailable, internal.
func (g *Legacy) Link(ctx context.Context, p identity.Principal, req LegacyRequest) (View, error) {
	l := g.l
	if err := req.validate(); err != nil {
		return View{}, err
	}
	issuer, ok := l.cfg.Issuers[req.Bank]
	if !ok {
		return View{}, emoney.FieldError("bank", "bank %s cannot be linked", req.Bank)
	}
	if err := l.policies.NewLinksAllowed(ctx, req.Bank); err != nil {
		return View{}, err
	}
	actor := "user:" + p.User.String()
	failed := func(err error) (View, error) {
		l.auditAlone(ctx, actor, "link.failed", p.User.String(), map[string]any{"bank": req.Bank, "method": LegacyMethod, "step": "legacy", "code": emoney.ErrorCode(err)})
		return View{}, err
	}
	tok, err := g.linkAtBank(ctx, issuer, req)
	if err != nil {
		return failed(err)
	}
	now := l.cfg.Now()
	index, err := l.keys.Index("legacy_bank_account", req.Bank+":"+req.Branch+":"+req.AccountNumber)
	if err != nil {
		return failed(err)
	}
	link := emoney.BankLink{ID: l.cfg.IDs.NewID(), User: p.User, Bank: req.Bank, AccountIndex: index, Scope: []string{"debit"},
		Status: emoney.LinkActive, CreatedAt: now, CoolingOffUntil: now, ConsentedAt: now, Method: emoney.LinkLegacy}
	prefix := "link:" + link.ID.String()
	for _, x := range []struct {
		v    any
		name string
		dst  *[]byte
	}{{account{req.Branch, req.AccountNumber}, ":account", &link.AccountSealed}, {holder{Kana: req.HolderKana}, ":holder", &link.HolderSealed},
		{legacyToken{tok}, ":tokens", &link.TokensSealed}} {
		raw, err := json.Marshal(x.v)
		if err == nil {
			*x.dst, err = l.keys.Seal(raw, prefix+x.name)
		}
		if err != nil {
			return failed(err)
		}
	}
	err = l.store.Update(ctx, func(tx emoney.Tx) error {
		if err := tx.CreateLink(ctx, link); err != nil {
			return err
		}
		return l.audit(ctx, tx, actor, "link.active", link.ID.String(), map[string]any{"bank": req.Bank, "method": LegacyMethod, "link": link.ID.String()})
	})
	if err != nil {
		return failed(err)
	}
	return l.view(link)
}

// linkAtBank posts the legacy link request and returns the bank's token.
func (g *Legacy) linkAtBank(ctx context.Context, issuer string, req LegacyRequest) (string, error) {
	w := g.l.wallet
	body, err := json.Marshal(map[string]string{"client_id": w.cfg.ClientIDs[issuer], "holder_kana": req.HolderKana,
		"branch": req.Branch, "account_number": req.AccountNumber, "pin": req.PIN})
	if err != nil {
		return "", err
	}
	a, err := g.post(ctx, issuer+"/legacy/link", "", "", body)
	if err != nil {
		return "", err
	}
	switch {
	case a.status == http.StatusCreated:
		var t legacyAnswer
		if json.Unmarshal(a.body, &t) != nil || t.Token == "" {
			return "", fail2("bank " + req.Bank + ": the legacy link answer has no token")
		}
		return t.Token, nil
	case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
		return "", fail(ErrDeclined, emoney.EDeclined, ReasonLegacyRefused, "", "the bank refused the holder name, account number or PIN")
	case a.status >= 500:
		return "", fail(ErrUnavailable, emoney.EBankUnavailable, "", "", "bank "+req.Bank+" is unavailable ("+strconv.Itoa(a.status)+")")
	}
	return "", fail2(fmt.Sprintf("bank %s answered the legacy link with %d", req.Bank, a.status))
}

// legacyAnswer is the bank's answer to a legacy link (docs/banksim.md "Legacy endpoint").
type legacyAnswer struct {
	Token         string `json:"token"`
	TokenType     string `json:"token_type"`
	AccountMasked string `json:"account_masked"`
}

func (g *Legacy) post(ctx context.Context, endpoint, token, key string, body []byte) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return answer{}, fail2("bad legacy endpoint")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return g.l.wallet.send(req)
}

// LegacyConnector is the connector of operations through links when legacy linking is on: a
// legacy link's top-up goes to the bank's legacy debit endpoint with the link's token and the
// request's Reference as Idempotency-Key; every other link's operation goes to next (the
// LinkConnector). Outcomes as LinkConnector's: 201 (or a replay) is Succeeded; 422 is Declined
// with the bank's reason (insufficient_funds); a refused token is Declined (relink_required) on
// a first send and unknown on a re-send; everything else is unknown (an error), for the
// reconciler to send again under the same key. A legacy link has no credits: withdrawals are
// refused before they reach here (the link's scope is debit only), and Credit declines them.
type LegacyConnector struct {
	g    *Legacy
	next bank.Connector
}

var _ bank.Connector = (*LegacyConnector)(nil)

// Connector returns the connector for links of both methods, legacy ones here and the others
// through next.
func (g *Legacy) Connector(next bank.Connector) *LegacyConnector {
	return &LegacyConnector{g: g, next: next}
}

// Debit pulls req.Amount from the account of the link req.Account names.
func (c *LegacyConnector) Debit(ctx context.Context, req bank.Request) (bank.Result, error) {
	link, ok, err := c.legacy(ctx, req)
	if err != nil || !ok {
		if err == nil {
			return c.next.Debit(ctx, req)
		}
		return bank.Result{}, err
	}
	return c.debit(ctx, link, req)
}

// Credit is next's for OAuth links; a legacy link takes no credits.
func (c *LegacyConnector) Credit(ctx context.Context, req bank.Request) (bank.Result, error) {
	_, ok, err := c.legacy(ctx, req)
	if err != nil || !ok {
		if err == nil {
			return c.next.Credit(ctx, req)
		}
		return bank.Result{}, err
	}
	return bank.Result{Outcome: bank.Declined, Reason: "legacy_no_credit"}, nil
}

// Status is next's: neither protocol can ask about a reference, so the reconciler sends the
// request again under its key.
func (c *LegacyConnector) Status(ctx context.Context, ref string) (bank.Result, error) {
	return c.next.Status(ctx, ref)
}

// legacy reads the link a request names and reports whether it is a legacy one.
func (c *LegacyConnector) legacy(ctx context.Context, req bank.Request) (emoney.BankLink, bool, error) {
	id, err := emoney.ParseID(req.Account)
	if err != nil {
		return emoney.BankLink{}, false, errors.New("banklink: the request names no link")
	}
	var link emoney.BankLink
	err = c.g.l.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		link, err = tx.Link(ctx, id)
		return err
	})
	return link, err == nil && link.Method == emoney.LinkLegacy, err
}

func (c *LegacyConnector) debit(ctx context.Context, link emoney.BankLink, req bank.Request) (bank.Result, error) {
	l := c.g.l
	issuer, ok := l.cfg.Issuers[link.Bank]
	if !ok {
		return bank.Result{}, fmt.Errorf("banklink: bank %s of legacy link %s is not configured", link.Bank, link.ID)
	}
	raw, err := l.keys.Open(link.TokensSealed, "link:"+link.ID.String()+":tokens")
	if err != nil {
		return bank.Result{}, err
	}
	var tok legacyToken
	if err := json.Unmarshal(raw, &tok); err != nil || tok.Token == "" {
		return bank.Result{}, fmt.Errorf("banklink: legacy link %s holds no token", link.ID)
	}
	body, err := json.Marshal(map[string]any{"amount": req.Amount, "description": "emoney top-up"})
	if err != nil {
		return bank.Result{}, err
	}
	a, err := c.g.post(ctx, issuer+"/legacy/debits", tok.Token, req.Reference, body)
	if err != nil {
		return bank.Result{}, err // unknown: the reconciler sends it again under the same key
	}
	switch {
	case a.status == http.StatusCreated || a.status == http.StatusOK:
		return bank.Result{Outcome: bank.Succeeded}, nil
	case a.status == http.StatusUnprocessableEntity:
		var e struct {
			Error struct {
				Code   string `json:"code"`
				Reason string `json:"reason"`
			} `json:"error"`
		}
		_ = json.Unmarshal(a.body, &e)
		reason := e.Error.Reason
		if reason == "" {
			reason = e.Error.Code
		}
		if reason == "" {
			reason = "declined"
		}
		return bank.Result{Outcome: bank.Declined, Reason: bank.CleanReason(reason)}, nil
	case a.status == http.StatusUnauthorized && !req.Resend:
		// The bank checks the token before anything else: on a first send nothing moved.
		return bank.Result{Outcome: bank.Declined, Reason: ReasonRelink}, nil
	}
	return bank.Result{}, fmt.Errorf("banklink: bank %s answered a legacy debit with %d: the outcome is unknown", link.Bank, a.status)
}
