package banklink

// The bank's settlement statement for the wallet (docs/banks.md "Settlement statement"): every
// debit and credit the wallet made at the bank in a period, with the Idempotency-Key it sent,
// read with a private_key_jwt client assertion (no customer's token: it covers every grant).
// emoney reconcile compares it with the ledger.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"emoney"
)

// StatementEntry is one movement the bank made for the wallet.
type StatementEntry struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"` // "debit" or "credit"
	IdempotencyKey string    `json:"idempotency_key"`
	Amount         int64     `json:"amount"`
	At             time.Time `json:"at"`
	Account        string    `json:"account"` // masked
	Grant          string    `json:"grant"`
}

// Statement is the bank's settlement statement for a period.
type Statement struct {
	Bank    string           `json:"bank"`
	Entries []StatementEntry `json:"entries"`
}

// StatementPath is where, under its issuer, a bank serves the partner statement.
const StatementPath = "/partner/statement"

// Statement reads the bank's statement of the wallet's movements with from ≤ at < to. Errors:
// invalid (field issuer) for a bank not configured; bank_unavailable (ErrUnavailable) when the
// bank does not answer; internal (ErrProtocol) when it refuses or answers what cannot be read.
func (w *Wallet) Statement(ctx context.Context, issuer string, from, to time.Time) (Statement, error) {
	b, err := w.bank(ctx, issuer)
	if err != nil {
		return Statement{}, err
	}
	endpoint := b.Issuer + StatementPath
	form := url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}
	a, err := w.postForm(ctx, b, endpoint, form, nil, "")
	if err != nil {
		return Statement{}, err
	}
	if a.status != http.StatusOK {
		return Statement{}, w.oauthFailure(b, "statement request", a)
	}
	var st Statement
	if err := json.Unmarshal(a.body, &st); err != nil {
		return Statement{}, fail(ErrProtocol, emoney.EInternal, "", "", fmt.Sprintf("bank %s: the statement cannot be read", b.Issuer))
	}
	for _, e := range st.Entries {
		if (e.Kind != "debit" && e.Kind != "credit") || e.IdempotencyKey == "" || e.Amount < 1 {
			return Statement{}, fail(ErrProtocol, emoney.EInternal, "", "", fmt.Sprintf("bank %s: statement entry %q lacks its kind, key or amount", b.Issuer, e.ID))
		}
	}
	return st, nil
}
