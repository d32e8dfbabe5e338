package http

import (
	"context"
	"net/url"
	"strconv"
)

// Notifications lists the caller's notifications, newest first; only unread ones if
// unreadOnly; limit 0 for the server's default.
func (c *Client) Notifications(ctx context.Context, unreadOnly bool, limit int) ([]Notification, error) {
	q := url.Values{}
	if unreadOnly {
		q.Set("unread", "true")
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/notifications"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Notifications []Notification `json:"notifications"`
	}
	err := c.do(ctx, "GET", path, "", nil, &out)
	return out.Notifications, err
}

// MarkNotificationRead marks one of the caller's notifications read and returns it.
func (c *Client) MarkNotificationRead(ctx context.Context, id string) (Notification, error) {
	var out Notification
	err := c.do(ctx, "POST", "/api/v1/notifications/"+url.PathEscape(id)+"/read", "", nil, &out)
	return out, err
}
