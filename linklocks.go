package emoney

import "time"

// LinkFailure is one link attempt of a wallet that ended refused or failed at its callback
// (the holder did not match, the bank refused, the grant lacked a scope, ...). Repeated
// failures lock the wallet out of linking (banklink: LinkLockFailures within LinkLockWindow).
type LinkFailure struct {
	User ID
	Bank string
	Step string // where it failed: "authorization", "holder", "match", "scope", ...
	Code string // the error code or refusal reason seen
	At   time.Time
}

// LinkLock says a wallet may not begin another bank link until staff unlock it.
type LinkLock struct {
	User     ID
	LockedAt time.Time
	Failures int    // how many failures locked it
	Reason   string // for staff: what the failures were
}
