package emoney

import "time"

// Payee is a wallet a user saved to send money to again. The nickname is the user's own words
// about someone else, so it is personal data: NicknameSealed opens with the binding
// "payee:<id>:nickname" (package pii). The wallet stays in the clear: risk rules look payees up
// by it ("first-time payee").
type Payee struct {
	ID             ID
	User           ID // whose list it is on
	Wallet         ID // the saved wallet's ledger account
	NicknameSealed []byte
	AddedAt        time.Time
}

// MaxPayees is how many payees one user may keep.
const MaxPayees = 200
