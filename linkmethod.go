package emoney

// LinkMethod is how a bank link was made.
type LinkMethod string

// Link methods; the zero LinkMethod is LinkOAuth (the store reads "oauth" back as zero). Every production link is LinkOAuth: the one protocol of shared/DESIGN.md "Bank
// linking". LinkLegacy is the 2020 protocol (holder name, account number and PIN, from any
// wallet), made only by a development server run with --legacy-linking to show threat T1: its
// token is the bank's legacy direct-debit token, and it holds no bank account against other
// wallets (no one-account-one-wallet, as in 2020).
const (
	LinkOAuth  LinkMethod = "oauth"
	LinkLegacy LinkMethod = "legacy"
)
