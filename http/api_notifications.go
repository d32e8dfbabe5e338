package http

import (
	"net/http"
	"strconv"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/notify"
)

// Notifications: what the wallet told a customer about their account (links made, refused
// attempts on their bank account, unlinks, re-consent reminders), the record behind the push
// or e-mail channel.

// SetNotifications sets the notification service. Call it before Serve.
func (s *Server) SetNotifications(n *notify.Service) { s.notes = n }

// Notification is one notification as the API shows it.
type Notification struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Text      string `json:"text"`
	CreatedAt string `json:"created_at"`
	ReadAt    string `json:"read_at,omitempty"`
}

func notificationJSON(n emoney.Notification) Notification {
	out := Notification{ID: n.ID.String(), Kind: n.Kind, Text: n.Text, CreatedAt: n.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if !n.ReadAt.IsZero() {
		out.ReadAt = n.ReadAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

func (s *Server) notifications() (*notify.Service, error) {
	if s.notes == nil {
		return nil, emoney.Errorf(emoney.ENotFound, "notifications are not configured on this server")
	}
	return s.notes, nil
}

// listNotifications answers GET /api/v1/notifications[?unread=true][&limit=N]: the caller's
// notifications, newest first (limit 1–200, default 50).
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ns, err := s.notifications()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	unread := false
	if v := q.Get("unread"); v != "" {
		if unread, err = strconv.ParseBool(v); err != nil {
			return emoney.FieldError("unread", "unread is true or false")
		}
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return emoney.FieldError("limit", "limit is 1 to %d", emoney.MaxNotificationsPage)
		}
	}
	got, err := ns.List(r.Context(), p.User, unread, limit)
	if err != nil {
		return err
	}
	out := make([]Notification, 0, len(got))
	for _, n := range got {
		out = append(out, notificationJSON(n))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"notifications": out})
	return nil
}

// readNotification answers POST /api/v1/notifications/{id}/read: marks one of the caller's
// notifications read (again: no change) and returns it; anyone else's is 404.
func (s *Server) readNotification(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ns, err := s.notifications()
	if err != nil {
		return err
	}
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such notification")
	}
	n, err := ns.MarkRead(r.Context(), p.User, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, notificationJSON(n))
	return nil
}
