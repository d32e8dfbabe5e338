package notify_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"emoney"
	"emoney/internal/fakeclock"
	"emoney/notify"
	"emoney/sqlite"
)

func open(t *testing.T) emoney.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Notify records once per user and dedupe key and sends once; the development sink writes one
// line per message; List pages newest first; MarkRead is the owner's only.
func TestNotify(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	sink := &notify.DevSink{W: &out}
	clock := fakeclock.New(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	svc := notify.New(open(t), sink, notify.Config{Now: clock.Now})
	user, other := emoney.ID{1}, emoney.ID{2}

	m := notify.Message{User: user, Kind: "link_created", Dedupe: "link:1:created", Text: "Bank A account ****123 was linked.\nCall us."}
	for i, want := range []bool{true, false} {
		created, err := svc.Notify(ctx, m)
		if err != nil || created != want {
			t.Fatalf("notify #%d: %v %v, want created %v", i+1, created, err, want)
		}
	}
	if sink.Sent() != 1 || out.String() != "emoney: [simulated notification to user "+user.String()+"] Bank A account ****123 was linked. Call us.\n" {
		t.Fatalf("sink: %d %q", sink.Sent(), out.String())
	}
	for _, bad := range []notify.Message{{User: user, Kind: "k", Dedupe: "d"}, {User: user, Kind: "k", Text: "t"}, {Kind: "k", Dedupe: "d", Text: "t"},
		{User: user, Kind: "k", Dedupe: "d", Text: strings.Repeat("x", emoney.MaxNotificationText+1)}} {
		if _, err := svc.Notify(ctx, bad); emoney.ErrorCode(err) != emoney.EInvalid {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
	clock.Add(time.Second)
	if _, err := svc.Notify(ctx, notify.Message{User: user, Kind: "link_unlinked", Dedupe: "link:1:unlinked", Text: "unlinked"}); err != nil {
		t.Fatal(err)
	}
	ns, err := svc.List(ctx, user, false, 0)
	if err != nil || len(ns) != 2 || ns[0].Kind != "link_unlinked" || ns[1].Kind != "link_created" {
		t.Fatalf("list: %+v %v", ns, err)
	}
	if _, err := svc.List(ctx, user, false, emoney.MaxNotificationsPage+1); emoney.ErrorCode(err) != emoney.EInvalid {
		t.Errorf("limit over the page: %v", err)
	}
	if _, err := svc.MarkRead(ctx, other, ns[0].ID); emoney.ErrorCode(err) != emoney.ENotFound {
		t.Errorf("another user's: %v", err)
	}
	clock.Add(time.Minute)
	n, err := svc.MarkRead(ctx, user, ns[0].ID)
	if err != nil || !n.ReadAt.Equal(clock.Now()) {
		t.Fatalf("read: %+v %v", n, err)
	}
	if un, _ := svc.List(ctx, user, true, 10); len(un) != 1 || un[0].Kind != "link_created" {
		t.Errorf("unread: %+v", un)
	}
}
