package http

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"emoney"
	"emoney/identity"
)

type passkeyJSON struct {
	ID         emoney.ID `json:"id"`
	Name       string    `json:"name"`
	AAGUID     string    `json:"aaguid"`
	Transports []string  `json:"transports"`
	CreatedAt  string    `json:"created_at"`
	LastUsedAt string    `json:"last_used_at,omitempty"`
}

// passkeyToJSON shows a passkey to its owner: what it is and when it was used, no key material.
func passkeyToJSON(p emoney.Passkey) passkeyJSON {
	j := passkeyJSON{ID: p.ID, Name: p.Name, AAGUID: uuidString(p.AAGUID), Transports: p.Transports, CreatedAt: p.CreatedAt.Format(time.RFC3339Nano)}
	if j.Transports == nil {
		j.Transports = []string{}
	}
	if !p.LastUsedAt.IsZero() {
		j.LastUsedAt = p.LastUsedAt.Format(time.RFC3339Nano)
	}
	return j
}

// uuidString writes an AAGUID (the authenticator's model) as a UUID; all zeros when it has none.
func uuidString(b []byte) string {
	if len(b) != 16 {
		b = make([]byte, 16)
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// credentialRequest carries a browser's PublicKeyCredential JSON, passed to go-webauthn as it is.
type credentialRequest struct {
	Name       string          `json:"name"` // registration only
	Credential json.RawMessage `json:"credential"`
}

func (r credentialRequest) credential() ([]byte, error) {
	if len(r.Credential) == 0 || string(r.Credential) == "null" {
		return nil, emoney.FieldError("credential", "credential is required: the PublicKeyCredential the browser returned, as JSON")
	}
	return r.Credential, nil
}

// beginPasskeyRegistration: POST /api/v1/passkeys/register/begin → options for
// navigator.credentials.create.
func (s *Server) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	creation, err := s.identity.BeginPasskeyRegistration(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, creation)
	return nil
}

// finishPasskeyRegistration: POST /api/v1/passkeys/register/finish with {"name", "credential"}.
func (s *Server) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req credentialRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	cred, err := req.credential()
	if err != nil {
		return err
	}
	pk, err := s.identity.FinishPasskeyRegistration(r.Context(), p, req.Name, cred)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, passkeyToJSON(pk))
	return nil
}

// listPasskeys: GET /api/v1/passkeys, the signed-in user's.
func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ps, err := s.identity.Passkeys(r.Context(), p.User)
	if err != nil {
		return err
	}
	items := make([]passkeyJSON, len(ps))
	for i, pk := range ps {
		items[i] = passkeyToJSON(pk)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// deletePasskey: DELETE /api/v1/passkeys/{id}, with a fresh step-up.
func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such passkey")
	}
	if err := s.identity.DeletePasskey(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// beginPasskeyStepUp: POST /api/v1/stepup/passkey/begin → options for navigator.credentials.get.
func (s *Server) beginPasskeyStepUp(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	assertion, err := s.identity.BeginPasskeyStepUp(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, assertion)
	return nil
}

// finishPasskeyStepUp: POST /api/v1/stepup/passkey/finish with {"credential"}; answers as
// POST /api/v1/stepup does.
func (s *Server) finishPasskeyStepUp(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req struct {
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	cred, err := credentialRequest{Credential: req.Credential}.credential()
	if err != nil {
		return err
	}
	at, err := s.identity.PasskeyStepUp(r.Context(), p, cred)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"stepped_up_at": at.Format(time.RFC3339Nano), "fresh_for_seconds": int(identity.StepUpFresh.Seconds())})
	return nil
}
