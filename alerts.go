package emoney

import "time"

// AlertStatus is where an alert stands.
type AlertStatus string

const (
	AlertOpen      AlertStatus = "open"
	AlertProposed  AlertStatus = "proposed"  // a release is proposed (maker) and waits for a second staff member (checker)
	AlertReleased  AlertStatus = "released"  // its held money went through
	AlertRejected  AlertStatus = "rejected"  // its held money went back
	AlertDismissed AlertStatus = "dismissed" // nothing was held; seen and closed
)

// Alert is something staff must look at. An alert about held money names the pending
// transfer (a review hold) that only a staff decision resolves: release posts it, reject voids
// it. Cases group alerts later.
type Alert struct {
	ID         ID
	Kind       string // "review_hold", ...
	Subject    string // who it is about: "wallet:…", "user:…"
	Transfer   ID     // the held transfer, if any
	Reason     string // why, for the analyst: rule ids, a score
	Status     AlertStatus
	CreatedAt  time.Time
	ResolvedAt time.Time
	ResolvedBy string
	// ProposedBy and ProposedAt name the maker of a release that needs a second staff member
	// (status proposed, and kept once it is approved).
	ProposedBy string
	ProposedAt time.Time
}
