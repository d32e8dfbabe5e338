package banksim

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// The partner settlement statement: what a wallet operator moved at this bank, for its
// reconciliation (emoney reconcile). Authenticated like the token endpoint (private_key_jwt
// client assertion, RFC 7523), no user token: it covers every grant of the client.
//
//	POST /banks/{code}/partner/statement
//	client_assertion_type=…&client_assertion=…&from=<RFC 3339>&to=<RFC 3339>
//
// It answers every debit and credit made through the resource APIs by this client at this bank
// with from ≤ at < to, oldest first, each with the Idempotency-Key it was made under. A client
// sees only its own movements. Errors: invalid_client (401) as at the token endpoint;
// invalid_request (400) for a missing or malformed period, or one longer than
// MaxStatementPeriod.

// MaxStatementPeriod is the longest period one partner statement covers.
const MaxStatementPeriod = 93 * 24 * time.Hour

// PartnerEntry is one movement in a partner statement.
type PartnerEntry struct {
	ID             string    `json:"id"`              // the bank's statement entry
	Kind           string    `json:"kind"`            // "debit" or "credit"
	IdempotencyKey string    `json:"idempotency_key"` // the key the client sent
	Amount         int64     `json:"amount"`          // yen, positive
	At             time.Time `json:"at"`
	Account        string    `json:"account"` // masked: "****567"
	Grant          string    `json:"grant"`
}

// PartnerStatement is the answer of the partner statement.
type PartnerStatement struct {
	Bank    string         `json:"bank"`
	Client  string         `json:"client_id"`
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Entries []PartnerEntry `json:"entries"`
}

func (s *Sim) mountStatement(mux *http.ServeMux) {
	mux.HandleFunc("POST /banks/{code}/partner/statement", s.partnerStatement)
}

func (s *Sim) partnerStatement(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		writeOAuthError(w, e)
		return
	}
	s.mu.Lock()
	st, e := s.partnerStatementLocked(r)
	s.mu.Unlock()
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	coreJSON(w, http.StatusOK, st)
}

func (s *Sim) partnerStatementLocked(r *http.Request) (*PartnerStatement, *oauthError) {
	b, err := s.bank(r.PathValue("code"))
	if err != nil {
		return nil, &oauthError{http.StatusNotFound, "invalid_request", "no such bank"}
	}
	c, e := s.authenticateClient(r, b, s.issuerURL(b.Info.Code)+"/partner/statement")
	if e != nil {
		return nil, e
	}
	from, err1 := time.Parse(time.RFC3339, r.PostForm.Get("from"))
	to, err2 := time.Parse(time.RFC3339, r.PostForm.Get("to"))
	if err1 != nil || err2 != nil || !from.Before(to) {
		return nil, errInvalidRequest("from and to are RFC 3339 times, from before to")
	}
	if to.Sub(from) > MaxStatementPeriod {
		return nil, errInvalidRequest("a statement covers at most %v", MaxStatementPeriod)
	}
	st := &PartnerStatement{Bank: b.Info.Code, Client: c.ID, From: from.UTC(), To: to.UTC(), Entries: []PartnerEntry{}}
	for _, a := range b.accounts {
		for _, en := range a.Statement {
			parts := strings.SplitN(en.Key, "|", 3)
			if len(parts) != 3 || parts[1] != c.ID || (parts[0] != "debit" && parts[0] != "credit") {
				continue
			}
			if en.At.Before(from) || !en.At.Before(to) {
				continue
			}
			amount := en.Amount
			if amount < 0 {
				amount = -amount
			}
			st.Entries = append(st.Entries, PartnerEntry{ID: en.ID, Kind: parts[0], IdempotencyKey: parts[2], Amount: amount, At: en.At,
				Account: "****" + last3(a.Number), Grant: en.Grant})
		}
	}
	sort.SliceStable(st.Entries, func(i, j int) bool {
		if !st.Entries[i].At.Equal(st.Entries[j].At) {
			return st.Entries[i].At.Before(st.Entries[j].At)
		}
		return st.Entries[i].ID < st.Entries[j].ID
	})
	return st, nil
}

func last3(n string) string {
	if len(n) <= 3 {
		return n
	}
	return n[len(n)-3:]
}
