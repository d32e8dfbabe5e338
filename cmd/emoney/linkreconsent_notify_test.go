package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Re-consent reminders: once 14 days before the deadline (ReconsentDays after consent), once
// more at it, each sent once however often the sweeper runs, none long after it.
func TestReconsentReminders(t *testing.T) {
	e := startLinking(t)
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, page, _ := e.link(alice, hanako); status != 200 || !strings.Contains(page, "Bank account linked") {
		t.Fatalf("link: %d\n%s", status, page)
	}
	consented, err := time.Parse(time.RFC3339Nano, e.links(alice)[0].ConsentedAt)
	if err != nil {
		t.Fatal(err)
	}
	deadline := consented.AddDate(0, 0, 180) // the default policy's reconsent_days
	remind := func(at time.Time) int {
		t.Helper()
		n, err := e.svc.links.RemindReconsent(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	day := 24 * time.Hour
	steps := []struct {
		name string
		at   time.Time
		want int
	}{
		{"a month before", deadline.Add(-30 * day), 0},
		{"15 days before", deadline.Add(-15 * day), 0},
		{"14 days before", deadline.Add(-14*day + time.Minute), 1},
		{"13 days before", deadline.Add(-13 * day), 0}, // sent already
		{"at the deadline", deadline.Add(time.Minute), 1},
		{"a day after", deadline.Add(day), 0},
		{"ten days after", deadline.Add(10 * day), 0},
	}
	for _, s := range steps {
		if got := remind(s.at); got != s.want {
			t.Errorf("%s: %d reminders, want %d", s.name, got, s.want)
		}
	}
	ns := e.notifications(alice, "")
	if len(ns) != 3 || ns[0].Kind != "reconsent_due" || ns[1].Kind != "reconsent_soon" || ns[2].Kind != "link_created" {
		t.Fatalf("notifications: %+v", ns)
	}
	for _, n := range ns[:2] {
		if !strings.Contains(n.Text, "****567") || !strings.Contains(n.Text, deadline.In(time.FixedZone("JST", 9*3600)).Format("2006-01-02")) || !strings.Contains(n.Text, "Link the account again") {
			t.Errorf("reminder text: %q", n.Text)
		}
	}
}
