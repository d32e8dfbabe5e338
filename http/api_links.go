package http

import (
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"emoney"
	"emoney/banklink"
	"emoney/identity"
)

// Bank links (DESIGN.md "Bank linking"): a customer starts a link, the bank sends them back to
// the callback, they list and remove their links. Without a Linker (production until real banks
// are configured) the routes answer that no bank is configured.

// SetLinks sets the linking service. Call it before Serve: the wallet's redirect URI names the
// API's own address, known only after Listen.
func (s *Server) SetLinks(l *banklink.Linker) { s.links = l }

func (s *Server) linker() (*banklink.Linker, error) {
	if s.links == nil {
		return nil, emoney.Errorf(emoney.ENotFound, "no bank is configured for linking on this server")
	}
	return s.links, nil
}

type linkRequest struct {
	Bank string `json:"bank"`
}

// startLink starts linking an account at a bank: POST /api/v1/links {"bank":"0001"} → 201
// {"authorization_url","expires_at"}. The customer's browser goes to the URL.
func (s *Server) startLink(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	l, err := s.linker()
	if err != nil {
		return err
	}
	var req linkRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	st, err := l.Begin(r.Context(), p, req.Bank)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"authorization_url": st.AuthorizationURL, "expires_at": st.ExpiresAt.UTC().Format(time.RFC3339Nano)})
	return nil
}

// listLinks lists the caller's links, account numbers masked: GET /api/v1/links.
func (s *Server) listLinks(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	l, err := s.linker()
	if err != nil {
		return err
	}
	vs, err := l.List(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"links": vs})
	return nil
}

// deleteLink unlinks one of the caller's links, at the bank and here: DELETE
// /api/v1/links/{id} → 200 with the revoked link; 404 for anyone else's.
func (s *Server) deleteLink(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	l, err := s.linker()
	if err != nil {
		return err
	}
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such bank link")
	}
	v, err := l.Unlink(r.Context(), p, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
	return nil
}

// linkPage is the page the customer's browser lands on after the bank: what came of the link,
// without a secret or personal data beyond the bank and the account's last digits.
var linkPage = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>emoney: {{.Title}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Account}}<p>Your account at {{.Bank}} ending {{.Account}}.</p>{{end}}
<p>{{.Message}}</p>
{{if .RequestID}}<p><small>Reference: {{.RequestID}}</small></p>{{end}}
</main></body></html>
`))

type linkPageData struct {
	Title, Bank, Account, Message, RequestID string
}

// linkCallback is the OAuth callback: GET /api/v1/links/callback?code&state&iss. It is
// unauthenticated by design: the bank redirects the customer's browser here, and the state
// (random, single-use, stored hashed) is the capability. It answers a small HTML page.
func (s *Server) linkCallback(w http.ResponseWriter, r *http.Request) error {
	l, err := s.linker()
	if err != nil {
		return err
	}
	out, err := l.Callback(r.Context(), r.URL.Query())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err != nil {
		code := emoney.ErrorCode(err)
		status, ok := statusOf[code]
		msg := emoney.ErrorMessage(err)
		if !ok || code == emoney.EInternal {
			status, msg = http.StatusInternalServerError, "Something went wrong on our side; nothing was linked. Please start again."
			s.log.ErrorContext(r.Context(), "link callback", slog.String("request_id", requestID(r.Context())), slog.Any("err", err))
		}
		w.WriteHeader(status)
		return linkPage.Execute(w, linkPageData{Title: "Not linked", Message: msg, RequestID: requestID(r.Context())})
	}
	title := map[string]string{banklink.Linked: "Bank account linked", banklink.InReview: "Bank account under review", banklink.Refused: "Bank account not linked"}[out.Status]
	bank := out.Name
	if bank == "" {
		bank = "bank " + out.Bank
	}
	w.WriteHeader(http.StatusOK)
	return linkPage.Execute(w, linkPageData{Title: title, Bank: bank, Account: out.Last, Message: out.Message})
}
