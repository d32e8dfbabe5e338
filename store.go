package emoney

import (
	"context"
	"crypto/sha256"
	"time"
)

// Store keeps emoney's state. It holds no business rules: the ledger and the other domain
// packages decide, the store records. Implementations: sqlite (embedded default) and postgres;
// both pass the conformance suite in storetest.
//
// A Store is safe for concurrent use, and must stay correct when several processes write the
// same database: Tx.LockBalances is the point where writers serialise.
type Store interface {
	// Kind names the implementation: "sqlite" or "postgres".
	Kind() string
	// Migrate brings the schema up to date. It is idempotent.
	Migrate(ctx context.Context) error
	// SchemaVersion returns the number of the last applied migration (0 for an empty database).
	SchemaVersion(ctx context.Context) (int, error)
	// Update runs fn in one read-write transaction and commits it if fn returns nil; otherwise
	// it rolls back and returns fn's error. fn may be called more than once when the store
	// retries a transaction that lost a race it could not have avoided (a serialisation
	// failure), so it must not have effects outside tx.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction that sees one consistent snapshot.
	View(ctx context.Context, fn func(ReadTx) error) error
	// Close waits for nothing: callers stop using the store first.
	Close() error
}

// BalanceKey names one account's balance in one currency.
type BalanceKey struct {
	Account  ID
	Currency Currency
}

// IdempotencyKey is a client's idempotency key, scoped to the principal that sent it.
type IdempotencyKey struct {
	Principal string
	Key       string
}

// Hash is how stores index a key: 16 bytes of SHA-256 over the principal and the key. It keeps
// the index small and fixed-size whatever clients send as keys.
func (k IdempotencyKey) Hash() [16]byte {
	h := sha256.New()
	h.Write([]byte(k.Principal))
	h.Write([]byte{0})
	h.Write([]byte(k.Key))
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// IdempotencyRecord remembers the first request made with a key: a hash of the request, to
// tell a retry from a reuse, and its result, opaque to the store.
type IdempotencyRecord struct {
	IdempotencyKey
	RequestHash []byte
	Result      []byte
	CreatedAt   time.Time
}

// OutboxEvent is a committed domain event waiting to be published. It is written in the same
// transaction as the change it describes, so no event is lost and none describes a change
// that did not commit.
type OutboxEvent struct {
	Seq       int64  // assigned by the store; increasing, and for any one Key in commit order
	Topic     string // e.g. "ledger.committed"
	Key       string // ordering key: events with one key are delivered in Seq order
	Payload   []byte // JSON
	CreatedAt time.Time
}

// AuditEntry is one link of the hash-chained audit log. Seq, PrevHash and Hash are set by the
// audit package; the store only records them.
type AuditEntry struct {
	Seq      int64
	At       time.Time
	Actor    string // who: "staff:…", "system:…", "cli"
	Action   string // what: "account.create", "killswitch.pull", ...
	Object   string // on what: an id or name
	Detail   []byte // JSON
	PrevHash []byte
	Hash     []byte
}

// AuditHead is the last entry's sequence number and hash (0 and nil for an empty log).
type AuditHead struct {
	Seq  int64
	Hash []byte
}

// ReadTx reads within a transaction. Lists of ids may hold unknown ids: they are left out of
// the result, not reported as errors.
type ReadTx interface {
	// Account returns the account with the given id, or not_found.
	Account(ctx context.Context, id ID) (Account, error)
	// AccountByName returns the account with the given name, or not_found.
	AccountByName(ctx context.Context, name string) (Account, error)
	// Accounts returns the accounts with the given ids.
	Accounts(ctx context.Context, ids []ID) ([]Account, error)
	// Balance returns one balance of an account, zero (with no Last) if it has none in that
	// currency. It does not check that the account exists.
	Balance(ctx context.Context, key BalanceKey) (Balance, error)
	// Balances returns every balance of one account, ordered by currency.
	Balances(ctx context.Context, account ID) ([]Balance, error)
	// Transfers returns the transfers with the given ids.
	Transfers(ctx context.Context, ids []ID) ([]Transfer, error)
	// Resolutions returns the post or void records of the given pending transfers.
	Resolutions(ctx context.Context, pending []ID) ([]Transfer, error)
	// Reversals returns the transfers that reverse any of the given transfers.
	Reversals(ctx context.Context, of []ID) ([]Transfer, error)
	// ExpiredPending returns up to limit pending transfers whose expiry is at or before t and
	// that have been neither posted nor voided, oldest expiry first.
	ExpiredPending(ctx context.Context, t time.Time, limit int) ([]Transfer, error)
	// ScanAccounts, ScanBalances and ScanTransfers call fn for every record, in id order.
	// An error from fn stops the scan and is returned.
	ScanAccounts(ctx context.Context, fn func(Account) error) error
	ScanBalances(ctx context.Context, fn func(Balance) error) error
	ScanTransfers(ctx context.Context, fn func(Transfer) error) error
	// Idempotency returns the records for the given keys.
	Idempotency(ctx context.Context, keys []IdempotencyKey) ([]IdempotencyRecord, error)
	// Outbox returns up to limit events with Seq greater than after, in Seq order.
	Outbox(ctx context.Context, after int64, limit int) ([]OutboxEvent, error)
	// ScanAudit calls fn for every audit entry in Seq order.
	ScanAudit(ctx context.Context, fn func(AuditEntry) error) error
	// AuditHead returns the recorded head of the audit log.
	AuditHead(ctx context.Context) (AuditHead, error)
	// User returns the user with the given id, or not_found.
	User(ctx context.Context, id ID) (User, error)
	// UserByEmail returns the user whose e-mail has the given index, or not_found.
	UserByEmail(ctx context.Context, emailIndex []byte) (User, error)
	// Session returns the session with the given token hash (revoked or expired ones too),
	// or not_found.
	Session(ctx context.Context, tokenHash []byte) (Session, error)
	// Users returns up to limit users with ids greater than after, in id order.
	Users(ctx context.Context, after ID, limit int) ([]User, error)
	// UserByEnrolment returns the user whose unused enrolment code has the given hash, or
	// not_found.
	UserByEnrolment(ctx context.Context, codeHash []byte) (User, error)
	// PartnerByKey returns the partner whose API key has the given hash, or not_found.
	PartnerByKey(ctx context.Context, keyHash []byte) (Partner, error)
	// OrphanHolds returns up to limit unresolved review holds that have no alert named by their
	// id, oldest first.
	OrphanHolds(ctx context.Context, limit int) ([]Transfer, error)
	// UnsettledDecisions returns up to limit released or rejected alerts whose hold is still
	// pending (the decision is recorded, the ledger has not followed yet), oldest first.
	UnsettledDecisions(ctx context.Context, limit int) ([]Alert, error)
	// Alert returns one alert, or not_found.
	Alert(ctx context.Context, id ID) (Alert, error)
	// Alerts returns up to limit alerts in the given status, oldest first, with ids greater
	// than after (zero: from the start).
	Alerts(ctx context.Context, status AlertStatus, after ID, limit int) ([]Alert, error)

	// KYC (phone and identity verification; see kyc.go).

	// KYC returns a user's verification record, or not_found if they have none.
	KYC(ctx context.Context, user ID) (KYC, error)
	// UsersByIdentity returns the ids of the users whose verified identity has the given index.
	UsersByIdentity(ctx context.Context, identityIndex []byte) ([]ID, error)
	// PhoneChallenge returns a user's outstanding phone challenge, or not_found.
	PhoneChallenge(ctx context.Context, user ID) (PhoneChallenge, error)

	// Bank operations (top-ups and withdrawals).

	// PendingHolds returns up to limit pending transfers with the given hold kind, created at or
	// before olderThan, that have been neither posted nor voided, oldest first. The bank holds
	// (HoldBankDebit, HoldBankCredit) are indexed; invalid for a kind that is not valid.
	PendingHolds(ctx context.Context, kind HoldKind, olderThan time.Time, limit int) ([]Transfer, error)

	// Passkeys (WebAuthn step-up factors).

	// Passkeys returns the user's passkeys, oldest first (none: an empty list).
	Passkeys(ctx context.Context, user ID) ([]Passkey, error)
	// PasskeyByCredential returns the passkey with the given credential id, whoever's it is, or
	// not_found.
	PasskeyByCredential(ctx context.Context, credentialID []byte) (Passkey, error)

	// Staff administration and payees (migration 0011).

	// UserDisabledAt returns when a user was disabled (zero while they are not), or not_found.
	UserDisabledAt(ctx context.Context, id ID) (time.Time, error)
	// Payee returns one payee, or not_found.
	Payee(ctx context.Context, id ID) (Payee, error)
	// Payees returns up to limit of a user's payees, newest first, with ids less than before
	// (zero: from the newest).
	Payees(ctx context.Context, user ID, before ID, limit int) ([]Payee, error)

	// ---- webhooks (package webhook)

	// PartnerByName returns the partner with the given name, or not_found.
	PartnerByName(ctx context.Context, name string) (Partner, error)
	// PartnerWebhooks returns the webhook endpoints of the given partners, leaving out partners
	// that have none and partners whose key is revoked.
	PartnerWebhooks(ctx context.Context, partners []ID) ([]PartnerWebhook, error)
	// OutboxCursor returns the Seq the named outbox reader has handled events up to (0 if it
	// has not started), without locking it.
	OutboxCursor(ctx context.Context, name string) (int64, error)
	// Delivery returns one webhook delivery, or not_found.
	Delivery(ctx context.Context, id ID) (Delivery, error)
	// NextDeliveryAt returns the earliest NextAt of the pending deliveries, zero if none is
	// pending.
	NextDeliveryAt(ctx context.Context) (time.Time, error)
	// DeliveryCounts returns how many deliveries are in each status (statuses with none are
	// left out).
	DeliveryCounts(ctx context.Context) (map[DeliveryStatus]int64, error)

	// ---- bank policies and kill switches (package bankpolicy; migration 0015)

	// BankPolicy returns the stored policy of the bank with the given code, or not_found if it
	// has none (its policy is then DefaultBankPolicy).
	BankPolicy(ctx context.Context, code string) (BankPolicy, error)
	// BankPolicies returns every stored bank policy, ordered by bank code.
	BankPolicies(ctx context.Context) ([]BankPolicy, error)

	// ---- bank links (package banklink, Linker; migration 0016)

	// Link returns one bank link, or not_found.
	Link(ctx context.Context, id ID) (BankLink, error)
	// Links returns a user's bank links (revoked ones too), newest first.
	Links(ctx context.Context, user ID) ([]BankLink, error)
	// LinkByAccount returns the link that is not revoked holding the bank account with the
	// given index, or not_found.
	LinkByAccount(ctx context.Context, accountIndex []byte) (BankLink, error)

	// ---- top-ups and withdrawals through bank links (money.BankOps; migration 0017)

	// LinkOp returns the link operation recorded under a principal's idempotency key, or
	// not_found.
	LinkOp(ctx context.Context, principal, key string) (LinkOp, error)
	// LinkOpByTransfer returns the link operation whose pending transfer is the given one, or
	// not_found (an operation through a bank code, or one whose transfer was never recorded).
	LinkOpByTransfer(ctx context.Context, transfer ID) (LinkOp, error)
	// LinkUsage sums the amounts of a link's operations of one kind on one Tokyo day, leaving
	// out those whose pending transfer was voided (nothing moved). Operations whose transfer is
	// not recorded yet count: they are in flight.
	LinkUsage(ctx context.Context, link ID, kind string, day int32) (int64, error)

	// ---- one bank account across its links (issue 6: unlinking and linking the same account
	// again must not escape its cooling-off)

	// LinksByAccount returns every link of the bank account with the given index, revoked ones
	// too, newest first; none is not an error.
	LinksByAccount(ctx context.Context, accountIndex []byte) ([]BankLink, error)
	// AccountLinkUsage is LinkUsage summed over every link of the bank account with the given
	// index, revoked ones too, by any user: what the account moved through this wallet
	// platform on that day.
	AccountLinkUsage(ctx context.Context, accountIndex []byte, kind string, day int32) (int64, error)

	// ---- holder notifications and bank notices (packages notify and banklink; migration 0018)

	// Notifications returns up to limit of user's notifications, newest first (only unread
	// ones if unreadOnly).
	Notifications(ctx context.Context, user ID, unreadOnly bool, limit int) ([]Notification, error)
	// BankNotice returns one notice to a bank; not_found if there is none.
	BankNotice(ctx context.Context, id ID) (BankNotice, error)
	// LinksConsentedBetween returns up to limit links of bank, not revoked, whose ConsentedAt
	// is in [from, to), oldest consent first (for the re-consent reminders).
	LinksConsentedBetween(ctx context.Context, bank string, from, to time.Time, limit int) ([]BankLink, error)
	// ---- webhooks from banks: grants, received events, fraud reports (banklink; migration 0019)

	// LinkByGrant returns the newest link of bank whose GrantID is grant, revoked ones too;
	// not_found if none has it (an empty grant matches nothing).
	LinkByGrant(ctx context.Context, bank, grant string) (BankLink, error)
	// BankEvent returns the webhook recorded under bank and event id, or not_found.
	BankEvent(ctx context.Context, bank, eventID string) (BankEvent, error)
	// BankFraudReports returns the fraud reports naming the link, newest first; none is not an
	// error.
	BankFraudReports(ctx context.Context, link ID) ([]BankFraudReport, error)
	// ---- staff decisions on links and linking locks (package banklink; migration 0020)

	// LinksByStatus returns up to limit links in the given status with ids greater than
	// after, oldest first.
	LinksByStatus(ctx context.Context, status LinkStatus, after ID, limit int) ([]BankLink, error)
	// LinkFailures counts the user's link failures at or after since.
	LinkFailures(ctx context.Context, user ID, since time.Time) (int, error)
	// LinkLock returns the user's linking lock, or not_found if the user is not locked.
	LinkLock(ctx context.Context, user ID) (LinkLock, error)
	// ---- reconciliation and key rotation of bank links (emoney reconcile, keys rotate;
	// migration 0023)

	// LinkOpsCreated returns the link operations that have a transfer and were created at or
	// after from and before to, oldest first (ties in principal and key order).
	LinkOpsCreated(ctx context.Context, from, to time.Time) ([]LinkOp, error)
	// LinksAfter returns up to limit bank links of every user (revoked ones too) with ids
	// greater than after (zero: from the start), in id order.
	LinksAfter(ctx context.Context, after ID, limit int) ([]BankLink, error)
	// LinkFlowsAfter returns up to limit linking flows (expired ones too) whose state hash sorts
	// after the given one (nil: from the start), in state hash order.
	LinkFlowsAfter(ctx context.Context, after []byte, limit int) ([]LinkFlow, error)
	// ---- the risk engine (package risk; migration 0024)

	// RiskRules returns every stored rule (disabled ones too), by id.
	RiskRules(ctx context.Context) ([]RiskRule, error)
	// Decision returns one recorded risk decision, or not_found.
	Decision(ctx context.Context, id ID) (Decision, error)
	// Decisions returns up to limit decisions made at or after since, with ids greater than
	// after (zero: from the first), in id order; wallet, if not empty, keeps that wallet's only.
	Decisions(ctx context.Context, wallet string, since time.Time, after ID, limit int) ([]Decision, error)
}

// Tx reads and writes within one read-write transaction.
type Tx interface {
	ReadTx
	// WriteVersion returns a number that is the same at the start of two write transactions
	// only if nothing at all was committed to the database between them: not through this
	// handle, not through another, not by another process. Every commit through this handle
	// adds exactly one. A ledger that committed the batch before this one, and finds the
	// version it saw then plus one, knows the balances it wrote are still the truth. A store
	// that cannot tell cheaply returns ok false.
	WriteVersion(ctx context.Context) (version int64, ok bool, err error)
	// CreateAccount records a new account; conflict if its id or name is taken.
	CreateAccount(ctx context.Context, a Account) error
	// LockBalances returns one balance per key (in any order), locked against every other
	// writer (in any process) until the transaction ends. A key with no balance row yet is
	// returned as a zero balance, and no other writer can create that row meanwhile. Callers
	// pass keys of existing accounts only: the store does not check. Keys come sorted by
	// account then currency, so that writers locking in that order cannot deadlock.
	LockBalances(ctx context.Context, keys []BalanceKey) ([]Balance, error)
	// SaveBalances writes balances previously returned by LockBalances in this transaction.
	SaveBalances(ctx context.Context, b []Balance) error
	// InsertTransfers appends transfer records; conflict if an id is taken or a pending
	// transfer would be resolved twice.
	InsertTransfers(ctx context.Context, t []Transfer) error
	// ClaimIdempotency records each request whose key is free and reports, one bool per
	// record, whether it did. A key already taken is left as it is: by a committed
	// transaction, or by one still running in another process, which it waits for.
	ClaimIdempotency(ctx context.Context, r []IdempotencyRecord) ([]bool, error)
	// ReleaseIdempotency removes keys claimed earlier in this transaction, for requests that
	// then failed, so that a retry is judged afresh.
	ReleaseIdempotency(ctx context.Context, keys []IdempotencyKey) error
	// AppendOutbox records events; the store assigns Seq.
	AppendOutbox(ctx context.Context, e []OutboxEvent) error
	// LockAuditHead returns the head of the audit log, locked until the transaction ends so
	// that appends from every process form one chain.
	LockAuditHead(ctx context.Context) (AuditHead, error)
	// AppendAudit records e, which must follow the locked head, and makes it the new head.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// CreateUser records a new user; conflict if the id or the e-mail index is taken.
	CreateUser(ctx context.Context, u User) error
	// CreatePartner records a new partner; conflict if its id, name or key hash is taken.
	CreatePartner(ctx context.Context, p Partner) error
	// RevokePartner marks the named partner's key revoked at the given time (keeping the first
	// time) and returns the partner; not_found if there is none.
	RevokePartner(ctx context.Context, name string, at time.Time) (Partner, error)
	// CreateSession records a new session; conflict if the token hash is taken.
	CreateSession(ctx context.Context, s Session) error
	// RevokeSession marks a session revoked at the given time, if it is not already; not_found
	// if there is no such session.
	RevokeSession(ctx context.Context, tokenHash []byte, at time.Time) error
	// SetTOTP records a user's sealed TOTP secret and whether it is confirmed, unless a
	// confirmed one is there (conflict: it is never replaced this way); not_found if there is no
	// such user.
	SetTOTP(ctx context.Context, user ID, sealed []byte, confirmed bool) error
	// UseTOTPStep records that a code of the given time step was used, and reports false if that
	// step or a later one was used already (a code works once).
	UseTOTPStep(ctx context.Context, user ID, step int64) (bool, error)
	// CompleteEnrolment sets a user's password hash and sealed TOTP secret (unconfirmed) and
	// spends the enrolment code; not_found if the user has no unused code.
	CompleteEnrolment(ctx context.Context, user ID, passwordHash string, totpSealed []byte) error
	// ResealUser replaces a user's sealed e-mail and TOTP secret (after a key rotation);
	// not_found if there is no such user.
	ResealUser(ctx context.Context, id ID, emailSealed, totpSealed []byte) error
	// CreateAlert records a new, open alert; conflict if its id is taken.
	CreateAlert(ctx context.Context, a Alert) error
	// ResolveAlert moves an open alert to status, recording when and by whom; conflict if it is
	// not open any more, not_found if there is none.
	ResolveAlert(ctx context.Context, id ID, status AlertStatus, by string, at time.Time) error
	// MarkStepUp records that a session proved a second factor at the given time; not_found if
	// there is no such session.
	MarkStepUp(ctx context.Context, tokenHash []byte, at time.Time) error

	// KYC (phone and identity verification; see kyc.go).

	// LockPhoneChallenge returns a user's outstanding phone challenge (not_found if none),
	// locked against every other writer until the transaction ends, so that counting wrong
	// codes and resends cannot race.
	LockPhoneChallenge(ctx context.Context, user ID) (PhoneChallenge, error)
	// SavePhoneChallenge records a user's phone challenge, replacing any earlier one.
	SavePhoneChallenge(ctx context.Context, c PhoneChallenge) error
	// FailPhoneChallenge counts one wrong code against a user's challenge and returns the
	// attempts so far; not_found if there is no challenge.
	FailPhoneChallenge(ctx context.Context, user ID) (int, error)
	// VerifyPhone records a user's verified phone (replacing an earlier one) and deletes their
	// challenge; conflict if another user's verified phone has the same index.
	VerifyPhone(ctx context.Context, user ID, phoneIndex, phoneSealed []byte, at time.Time) error
	// VerifyIdentity records a user's verified identity; not_found if the user has no KYC
	// record (a verified phone comes first); conflict if another user's verified identity has
	// the same index.
	VerifyIdentity(ctx context.Context, user ID, sealed, index []byte, at time.Time) error
	// SetKYCTier sets a user's tier; not_found if there is no such user.
	SetKYCTier(ctx context.Context, user ID, tier int) error
	// ResealKYC replaces a user's sealed phone and identity (after a key rotation); not_found if
	// the user has no KYC record.
	ResealKYC(ctx context.Context, user ID, phoneSealed, identitySealed []byte) error

	// Passkeys (WebAuthn step-up factors) and the ceremonies that register and use them.

	// CreatePasskey records a new passkey; conflict if its id or credential id is taken.
	CreatePasskey(ctx context.Context, p Passkey) error
	// UpdatePasskeySignCount records a use of the passkey at the given time with the signature
	// counter its authenticator sent, and reports true, if that counter is greater than the stored
	// one or both are zero (an authenticator without a counter). Otherwise it changes nothing and
	// reports false: the counter went backwards or stood still, the mark of a cloned key. Checked
	// and written in one statement, so two uses racing with one counter cannot both pass.
	// not_found if there is no such passkey.
	UpdatePasskeySignCount(ctx context.Context, id ID, signCount uint32, at time.Time) (bool, error)
	// DeletePasskey removes one of user's passkeys; not_found if user has none with that id.
	DeletePasskey(ctx context.Context, user, id ID) error
	// SaveCeremony records a ceremony, replacing any of the same kind the session had begun, and
	// removes every ceremony (of any session) that expired at or before c.CreatedAt.
	SaveCeremony(ctx context.Context, c Ceremony) error
	// TakeCeremony removes the session's ceremony of that kind and returns it: a ceremony is
	// taken once. not_found if there is none, or if it expired at or before now (SaveCeremony
	// sweeps those).
	TakeCeremony(ctx context.Context, tokenHash []byte, kind CeremonyKind, now time.Time) (Ceremony, error)

	// Staff administration, sessions housekeeping, maker-checker and payees (migration 0011).

	// DisableUser records that a user was disabled at the given time, keeping the first time if
	// they were already; not_found if there is no such user.
	DisableUser(ctx context.Context, id ID, at time.Time) error
	// RevokeUserSessions marks every session of a user that is not revoked yet revoked at the
	// given time, and returns how many it marked.
	RevokeUserSessions(ctx context.Context, user ID, at time.Time) (int, error)
	// DeleteSessions deletes up to limit sessions that expired, or were revoked, before the
	// given time, and returns how many it deleted.
	DeleteSessions(ctx context.Context, before time.Time, limit int) (int, error)
	// ReissueEnrolment gives a user who never enrolled (no password yet) a new enrolment code
	// hash, good until expires, in place of the old one; conflict if the user has enrolled,
	// not_found if there is no such user.
	ReissueEnrolment(ctx context.Context, user ID, codeHash []byte, expires time.Time) error
	// ProposeAlert moves an open alert to proposed, recording its maker and when; conflict if it
	// is not open, not_found if there is none.
	ProposeAlert(ctx context.Context, id ID, by string, at time.Time) error
	// ApproveAlert moves a proposed alert to released, recording its checker and when; conflict
	// if it is not proposed or by is its maker (nobody approves their own proposal), not_found
	// if there is none.
	ApproveAlert(ctx context.Context, id ID, by string, at time.Time) error
	// DeclineProposal moves a proposed alert back to open and forgets its maker; conflict if it
	// is not proposed, not_found if there is none.
	DeclineProposal(ctx context.Context, id ID) error
	// CreatePayee records p unless its user has max payees already (limit_exceeded); conflict if
	// its id, or its user and wallet together, are taken. Concurrent calls for one user count
	// each other: the cap holds.
	CreatePayee(ctx context.Context, p Payee, max int) error
	// DeletePayee deletes a payee of the given user; not_found if the user has no such payee.
	DeletePayee(ctx context.Context, user, id ID) error
	// ResealPayee replaces a payee's sealed nickname (after a key rotation); not_found if there
	// is no such payee.
	ResealPayee(ctx context.Context, id ID, nicknameSealed []byte) error

	// ---- webhooks (package webhook)

	// SetPartnerWebhook records (or replaces) a partner's webhook endpoint; not_found if there
	// is no such partner.
	SetPartnerWebhook(ctx context.Context, w PartnerWebhook) error
	// LockOutboxCursor returns the named outbox reader's cursor (0 the first time), locked
	// against every other writer in any process until the transaction ends, so that one
	// reader at a time moves it.
	LockOutboxCursor(ctx context.Context, name string) (int64, error)
	// AdvanceOutboxCursor sets the named cursor, locked earlier in this transaction, to seq.
	AdvanceOutboxCursor(ctx context.Context, name string, seq int64) error
	// CreateDeliveries records new pending deliveries. One whose (EventID, Partner) is
	// recorded already is skipped, so that making them again is harmless.
	CreateDeliveries(ctx context.Context, d []Delivery) error
	// ClaimDeliveries takes up to limit pending deliveries whose NextAt is at or before now,
	// earliest first, for claim: each gets Claim claim and NextAt until (the end of the
	// lease), so no other claim takes it before then. Deliveries another transaction is
	// claiming are passed over, not waited for. It returns them as claimed.
	ClaimDeliveries(ctx context.Context, claim ID, now, until time.Time, limit int) ([]Delivery, error)
	// RecordDelivery records the outcome of an attempt: the status, one more attempt, the last
	// HTTP status and error, NextAt (pending) or the delivery time (delivered), and the claim
	// let go. not_found if there is no such delivery; conflict if o.Claim no longer holds it.
	RecordDelivery(ctx context.Context, o DeliveryOutcome) error

	// ---- bank policies and kill switches (package bankpolicy; migration 0015)

	// SaveBankPolicy records p as its bank's policy if the stored one has version p.Version-1
	// (p.Version 1: the bank has none stored yet), replacing it. Optimistic concurrency:
	// conflict if the stored version is any other (someone changed it since it was read);
	// invalid if p.Version < 1. Concurrent saves of one version: one wins, the others conflict.
	SaveBankPolicy(ctx context.Context, p BankPolicy) error

	// ---- bank links (package banklink, Linker; migration 0016)

	// CreateLink records a new link; conflict if its id is taken, or if a link that is not
	// revoked holds the same bank account (AccountIndex) — checked by a unique index, so two
	// wallets racing for one account cannot both win.
	CreateLink(ctx context.Context, l BankLink) error
	// RevokeLink marks one of user's links revoked at the given time by by, and returns it as
	// it is now; not_found if the user has no such link, conflict if it is revoked already.
	RevokeLink(ctx context.Context, user, id ID, by string, at time.Time) (BankLink, error)
	// SaveLinkFlow records a flow waiting for its callback, and removes every flow that expired
	// at or before f.CreatedAt; conflict if its state hash is taken.
	SaveLinkFlow(ctx context.Context, f LinkFlow) error
	// TakeLinkFlow removes the flow with the given state hash and returns it: a flow is taken
	// once. not_found if there is none, or if it expired at or before now.
	TakeLinkFlow(ctx context.Context, stateHash []byte, now time.Time) (LinkFlow, error)

	// ---- top-ups and withdrawals through bank links (money.BankOps; migration 0017)

	// LockLink locks a link's row until the transaction ends, so that checks of its usage and
	// the operation they allow are one step for concurrent transactions (from any process);
	// not_found if there is no such link.
	LockLink(ctx context.Context, id ID) error
	// CreateLinkOp records a link operation (Transfer zero); conflict if the principal's key
	// has one already.
	CreateLinkOp(ctx context.Context, op LinkOp) error
	// BindLinkOp records the pending transfer of the operation under a principal's key;
	// not_found if there is no such operation. Binding the same transfer again is not an error.
	BindLinkOp(ctx context.Context, principal, key string, transfer ID) error
	// SaveLinkTokens replaces a link's sealed tokens (a refresh rotated them); not_found if
	// there is no such link.
	SaveLinkTokens(ctx context.Context, id ID, sealed []byte) error
	// SetLinkStatus moves a link from status from to status to; not_found if there is no such
	// link in status from.
	SetLinkStatus(ctx context.Context, id ID, from, to LinkStatus) error

	// ---- holder notifications and bank notices (packages notify and banklink; migration 0018)

	// CreateNotification records n unless user n.User has one with n.DedupeKey already; it
	// returns the one stored and whether it is n (created). conflict if n's id is taken by
	// another notification.
	CreateNotification(ctx context.Context, n Notification) (Notification, bool, error)
	// MarkNotificationRead marks one of user's notifications read at the given time (a read one
	// keeps its first ReadAt) and returns it; not_found if the user has no such notification.
	MarkNotificationRead(ctx context.Context, user, id ID, at time.Time) (Notification, error)
	// CreateBankNotice records a notice to a bank (pending, or already claimed if n.Claim is
	// set, NextAt being the end of that claim's lease); conflict if its id is taken.
	CreateBankNotice(ctx context.Context, n BankNotice) error
	// ClaimBankNotices takes up to limit pending notices due at or before now, earliest first,
	// for claim: each gets Claim claim and NextAt until. Notices another transaction is
	// claiming are passed over, not waited for.
	ClaimBankNotices(ctx context.Context, claim ID, now, until time.Time, limit int) ([]BankNotice, error)
	// RecordBankNotice records the outcome of an attempt at a claimed notice (as
	// RecordDelivery does for deliveries); not_found if there is no such notice, conflict if
	// o.Claim no longer holds it.
	RecordBankNotice(ctx context.Context, o DeliveryOutcome) error
	// ---- webhooks from banks: grants, received events, fraud reports (banklink; migration 0019)

	// RecordBankEvent records e unless an event with its bank and event id is recorded already,
	// and reports whether it did. Of two transactions recording one event, the second waits for
	// the first and then reports false: a webhook is acted on once.
	RecordBankEvent(ctx context.Context, e BankEvent) (bool, error)
	// SetBankEventOutcome records what came of a recorded event and the link it concerned;
	// not_found if there is no such event.
	SetBankEventOutcome(ctx context.Context, bank, eventID, outcome string, link ID) error
	// CreateBankFraudReport records a fraud report; conflict if its id, or its bank and event
	// id together, are taken.
	CreateBankFraudReport(ctx context.Context, r BankFraudReport) error
	// ---- staff decisions on links and linking locks (package banklink; migration 0020)

	// DecideLink moves a link from status from to status to and returns it as it is now: to
	// active also sets CoolingOffUntil to coolingOffUntil (cooling-off starts at release); to
	// revoked sets RevokedAt and RevokedBy (by, at). not_found if there is no such link;
	// conflict if it is not in status from (someone decided first).
	DecideLink(ctx context.Context, id ID, from, to LinkStatus, coolingOffUntil time.Time, by string, at time.Time) (BankLink, error)
	// RecordLinkFailure records one failed link attempt.
	RecordLinkFailure(ctx context.Context, f LinkFailure) error
	// LockLinking records a linking lock; conflict if the user is locked already.
	LockLinking(ctx context.Context, l LinkLock) error
	// UnlockLinking removes the user's linking lock and forgets the failures recorded before
	// it; not_found if the user is not locked.
	UnlockLinking(ctx context.Context, user ID) error
	// TakeExpiredLinkFlows removes and returns up to limit flows that expired at or before
	// now without a callback (the customer never came back from the bank), oldest first.
	TakeExpiredLinkFlows(ctx context.Context, now time.Time, limit int) ([]LinkFlow, error)
	// ---- reconciliation and key rotation of bank links (emoney reconcile, keys rotate;
	// migration 0023)

	// ResealLink replaces a link's sealed account, holder and tokens (after a key rotation);
	// not_found if there is no such link.
	ResealLink(ctx context.Context, id ID, accountSealed, holderSealed, tokensSealed []byte) error
	// ResealLinkFlow replaces a linking flow's sealed part (after a key rotation); not_found if
	// there is no such flow (taken or swept meanwhile).
	ResealLinkFlow(ctx context.Context, stateHash, sealed []byte) error
	// ---- the risk engine (package risk; migration 0024)

	// SaveRiskRule stores r as version expected+1: expected 0 creates it (conflict if the id
	// is taken), otherwise it replaces version expected (conflict if the stored one is another,
	// not_found if there is none).
	SaveRiskRule(ctx context.Context, r RiskRule, expected int64) error
	// SaveDecisions records decisions; one whose id is taken is skipped (a retried batch).
	SaveDecisions(ctx context.Context, ds []Decision) error
}
