package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"emoney"
)

// outcome is one request's result within a batch transaction.
type outcome struct {
	result []emoney.Transfer
	err    error
}

// book is the working state of one batch: balances read under lock, and what this batch has
// done so far to pending and reversed transfers.
type book struct {
	now      time.Time
	day      int32 // emoney.TokyoDay(now)
	month    int32 // emoney.TokyoMonth(now)
	accounts map[emoney.ID]emoney.Account
	balances map[emoney.BalanceKey]*emoney.Balance
	refs     map[emoney.ID]emoney.Transfer // transfers referenced by post, void and reversal ops
	resolved map[emoney.ID]emoney.TransferKind
	reversed map[emoney.ID]int64
	dirty    map[emoney.BalanceKey]bool

	// undo log of the request being applied
	undoBal      []savedBalance
	undoResolved []emoney.ID
	undoReversed []savedReversed
}

type savedBalance struct {
	k   emoney.BalanceKey
	old emoney.Balance
}

type savedReversed struct {
	id  emoney.ID
	old int64
}

// applied is what one attempt at a batch transaction produced.
type applied struct {
	out []outcome
	// balances every balance the batch locked, as it left them, and version the store's
	// write version when the batch began (versionOK false if unknown): the balance cache's
	// input, used only once the transaction has committed.
	balances  map[emoney.BalanceKey]*emoney.Balance
	version   int64
	versionOK bool
}

// apply runs inside the batch transaction. It may run more than once (the store retries lost
// races), so everything it builds is local and returned, never kept.
func (l *Ledger) apply(ctx context.Context, tx emoney.Tx, items []*item) (applied, error) {
	out := make([]outcome, len(items))
	res := applied{out: out}
	now := l.cfg.Now().UTC().Truncate(time.Microsecond)

	// 1. Idempotency: claim every key, with the ids this request's records will have. A key
	// that cannot be claimed was used before: answer with its first result, or conflict.
	keys := make([]emoney.IdempotencyKey, len(items))
	recs := make([]emoney.IdempotencyRecord, len(items))
	for i, it := range items {
		keys[i] = emoney.IdempotencyKey{Principal: it.req.Principal, Key: it.req.Key}
		recs[i] = emoney.IdempotencyRecord{IdempotencyKey: keys[i], RequestHash: it.hash, Result: encodeIDs(it.plan.ids), CreatedAt: now}
	}
	claimed, err := tx.ClaimIdempotency(ctx, recs)
	if err != nil {
		return res, err
	}
	pending := make([]int, 0, len(items)) // indexes of the requests to apply
	var taken []emoney.IdempotencyKey
	for i := range items {
		if claimed[i] {
			pending = append(pending, i)
		} else {
			taken = append(taken, keys[i])
		}
	}
	if len(taken) > 0 {
		if err := l.replay(ctx, tx, items, keys, taken, out); err != nil {
			return res, err
		}
	}
	if len(pending) == 0 {
		return res, nil
	}

	// 2. Load the transfers that ops refer to, then lock every balance the batch touches.
	var refIDs []emoney.ID
	for _, i := range pending {
		for _, op := range items[i].req.Ops {
			if !op.PendingID.IsZero() {
				refIDs = append(refIDs, op.PendingID)
			}
			if !op.ReversalOf.IsZero() {
				refIDs = append(refIDs, op.ReversalOf)
			}
		}
	}
	b := &book{
		accounts: map[emoney.ID]emoney.Account{},
		balances: map[emoney.BalanceKey]*emoney.Balance{},
		refs:     map[emoney.ID]emoney.Transfer{},
		resolved: map[emoney.ID]emoney.TransferKind{},
		reversed: map[emoney.ID]int64{},
		dirty:    map[emoney.BalanceKey]bool{},
	}
	if len(refIDs) > 0 {
		refs, err := tx.Transfers(ctx, refIDs)
		if err != nil {
			return res, err
		}
		for _, t := range refs {
			b.refs[t.ID] = t
		}
	}
	need := map[emoney.BalanceKey]bool{}
	var acctIDs []emoney.ID
	for _, i := range pending {
		for _, op := range items[i].req.Ops {
			from, to, cur := op.From, op.To, op.Currency
			if ref, ok := b.refs[op.PendingID]; ok {
				from, to, cur = ref.From, ref.To, ref.Currency
			} else if ref, ok := b.refs[op.ReversalOf]; ok {
				from, to, cur = ref.From, ref.To, ref.Currency
			}
			for _, id := range [2]emoney.ID{from, to} {
				k := emoney.BalanceKey{Account: id, Currency: cur}
				if id.IsZero() || need[k] {
					continue
				}
				need[k] = true
				acctIDs = append(acctIDs, id)
			}
		}
	}
	if err := l.accounts.load(ctx, tx, acctIDs, b.accounts); err != nil {
		return res, err
	}
	lockKeys := make([]emoney.BalanceKey, 0, len(need))
	for k := range need {
		if _, ok := b.accounts[k.Account]; ok { // unknown accounts fail their request below
			lockKeys = append(lockKeys, k)
		}
	}
	sort.Slice(lockKeys, func(i, j int) bool { return keyLess(lockKeys[i], lockKeys[j]) })
	toLock := lockKeys
	if l.balances != nil {
		// If nothing was committed since our last batch but that batch itself, the balances
		// it wrote are still the truth: read only the others.
		var err error
		res.version, res.versionOK, err = tx.WriteVersion(ctx)
		if err != nil {
			return res, err
		}
		toLock = l.balances.take(res.version, res.versionOK, lockKeys, b.balances)
	}
	locked, err := tx.LockBalances(ctx, toLock)
	if err != nil {
		return res, err
	}
	for i := range locked {
		bal := &locked[i]
		b.balances[emoney.BalanceKey{Account: bal.Account, Currency: bal.Currency}] = bal
	}
	if len(b.balances) != len(lockKeys) {
		return res, fmt.Errorf("ledger: store locked %d balances of %d", len(b.balances), len(lockKeys))
	}
	res.balances = b.balances // what they will be once the transaction commits

	// 3. Under the locks, what has happened to the referenced transfers is settled: read it.
	if len(refIDs) > 0 {
		resolutions, err := tx.Resolutions(ctx, refIDs)
		if err != nil {
			return res, err
		}
		for _, r := range resolutions {
			b.resolved[r.PendingID] = r.Kind
		}
		revs, err := tx.Reversals(ctx, refIDs)
		if err != nil {
			return res, err
		}
		for _, r := range revs {
			b.reversed[r.ReversalOf] += r.Amount
		}
	}

	// 4. Apply each request in arrival order; one that breaks a rule is undone, fails alone and
	// gives its key back.
	var (
		inserts  []emoney.Transfer
		events   []emoney.OutboxEvent
		released []emoney.IdempotencyKey
	)
	b.now, b.day, b.month = now, emoney.TokyoDay(now), emoney.TokyoMonth(now)
	for _, i := range pending {
		it, p := items[i], items[i].plan
		b.begin()
		trs := make([]emoney.Transfer, 0, len(it.req.Ops))
		var err error
		for j, op := range it.req.Ops {
			var tr emoney.Transfer
			tr, err = b.applyOp(op, j, p.ids[j], p.batch)
			if err != nil {
				break
			}
			trs = append(trs, tr)
		}
		if err == nil && it.req.Attach != nil {
			if err = it.req.Attach(ctx, tx, trs); err != nil && !requestErr(err) {
				return res, err // the batch fails; its requests are retried alone
			}
		}
		if err != nil {
			b.rollback()
			out[i].err = err
			released = append(released, keys[i])
			continue
		}
		for _, u := range b.undoBal {
			b.dirty[u.k] = true
		}
		out[i].result = trs
		inserts = append(inserts, trs...)
		events = append(events, emoney.OutboxEvent{Topic: TopicCommitted, Key: it.req.Principal, Payload: committedPayload(it.req.Principal, p.batch, trs), CreatedAt: now})
	}
	if len(released) > 0 {
		if err := tx.ReleaseIdempotency(ctx, released); err != nil {
			return res, err
		}
	}
	if len(inserts) == 0 {
		return res, nil
	}

	// 5. Write it all: history, balances, events.
	if err := tx.InsertTransfers(ctx, inserts); err != nil {
		return res, err
	}
	save := make([]emoney.Balance, 0, len(b.dirty))
	for _, k := range lockKeys {
		if b.dirty[k] {
			save = append(save, *b.balances[k])
		}
	}
	if err := tx.SaveBalances(ctx, save); err != nil {
		return res, err
	}
	if err := tx.AppendOutbox(ctx, events); err != nil {
		return res, err
	}
	return res, nil
}

// requestErr reports whether err, from a request's Attach, fails that request alone.
func requestErr(err error) bool {
	c := emoney.ErrorCode(err)
	return c != "" && c != emoney.EInternal
}

// plan is what a request's records will be called, fixed before it is applied so that its
// idempotency key can be claimed with its result. A retried transaction reuses it: nothing of
// the failed attempt was committed.
type plan struct {
	batch emoney.ID
	ids   []emoney.ID
}

// replay answers requests whose keys were taken: with the first result if the request is the
// same, conflict otherwise.
func (l *Ledger) replay(ctx context.Context, tx emoney.Tx, items []*item, keys, taken []emoney.IdempotencyKey, out []outcome) error {
	recs, err := tx.Idempotency(ctx, taken)
	if err != nil {
		return err
	}
	byKey := make(map[emoney.IdempotencyKey]emoney.IdempotencyRecord, len(recs))
	var ids []emoney.ID
	for _, r := range recs {
		byKey[r.IdempotencyKey] = r
		rids, err := decodeIDs(r.Result)
		if err != nil {
			return err
		}
		ids = append(ids, rids...)
	}
	trs, err := tx.Transfers(ctx, ids)
	if err != nil {
		return err
	}
	byID := make(map[emoney.ID]emoney.Transfer, len(trs))
	for _, t := range trs {
		byID[t.ID] = t
	}
	isTaken := make(map[emoney.IdempotencyKey]bool, len(taken))
	for _, k := range taken {
		isTaken[k] = true
	}
	for i, it := range items {
		r, ok := byKey[keys[i]]
		if !ok {
			if isTaken[keys[i]] {
				return fmt.Errorf("ledger: idempotency key %s/%s could not be claimed but has no record", keys[i].Principal, keys[i].Key)
			}
			continue
		}
		if !bytes.Equal(r.RequestHash, it.hash) {
			out[i].err = fieldErr(emoney.EConflict, "idempotency_key", "idempotency key %q was used for a different request", it.req.Key)
			continue
		}
		rids, _ := decodeIDs(r.Result)
		for _, id := range rids {
			t, ok := byID[id]
			if !ok {
				return fmt.Errorf("ledger: idempotency record %s/%s names missing transfer %s", r.Principal, r.Key, id)
			}
			out[i].result = append(out[i].result, t)
		}
	}
	return nil
}

// TopicCommitted is the outbox topic of every committed ledger request.
const TopicCommitted = "ledger.committed"

// committedPayload is the JSON payload of a TopicCommitted event:
// {"batch":…,"principal":…,"transfers":[…]}. It is written by hand because it is built for every
// request on the commit path, where encoding/json's reflection was a tenth of the time.
func committedPayload(principal string, batch emoney.ID, trs []emoney.Transfer) []byte {
	out := make([]byte, 0, 96+256*len(trs))
	out = append(out, `{"batch":"`...)
	out = append(out, batch.String()...)
	out = append(out, `","principal":`...)
	out = appendJSONString(out, principal)
	out = append(out, `,"transfers":[`...)
	for i, t := range trs {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendTransferJSON(out, t)
	}
	return append(out, "]}"...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // the rare string that needs escaping
			return append(out, b...)
		}
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}

// appendTransferJSON appends t as encoding/json would marshal it (a test holds the two equal).
func appendTransferJSON(out []byte, t emoney.Transfer) []byte {
	id := func(name string, v emoney.ID, omitZero bool) {
		if omitZero && v.IsZero() {
			return
		}
		out = append(out, `,"`...)
		out = append(out, name...)
		out = append(out, `":"`...)
		out = append(out, v.String()...)
		out = append(out, '"')
	}
	out = append(out, `{"id":"`...)
	out = append(out, t.ID.String()...)
	out = append(out, '"')
	id("batch", t.Batch, false)
	out = append(out, `,"kind":`...)
	out = appendJSONString(out, string(t.Kind))
	id("from", t.From, false)
	id("to", t.To, false)
	out = append(out, `,"currency":`...)
	out = appendJSONString(out, string(t.Currency))
	out = append(out, `,"amount":`...)
	out = strconv.AppendInt(out, t.Amount, 10)
	out = append(out, `,"code":`...)
	out = appendJSONString(out, t.Code)
	if t.Hold != "" {
		out = append(out, `,"hold":`...)
		out = appendJSONString(out, string(t.Hold))
	}
	id("pending_id", t.PendingID, true)
	id("reversal_of", t.ReversalOf, true)
	if !t.ExpiresAt.IsZero() {
		out = append(out, `,"expires_at":"`...)
		out = t.ExpiresAt.AppendFormat(out, time.RFC3339Nano)
		out = append(out, '"')
	}
	out = append(out, `,"created_at":"`...)
	out = t.CreatedAt.AppendFormat(out, time.RFC3339Nano)
	out = append(out, '"')
	id("from_prev", t.FromPrev, true)
	id("to_prev", t.ToPrev, true)
	if t.Counted != 0 {
		out = append(out, `,"counted":`...)
		out = strconv.AppendUint(out, uint64(t.Counted), 10)
	}
	return append(out, '}')
}

func keyLess(a, b emoney.BalanceKey) bool {
	if c := bytes.Compare(a.Account[:], b.Account[:]); c != 0 {
		return c < 0
	}
	return a.Currency < b.Currency
}

// applyOp turns one op into a transfer record and applies it to the book, or says why not.
func (b *book) applyOp(op Op, j int, id, batch emoney.ID) (emoney.Transfer, error) {
	p := opField(j)
	tr := emoney.Transfer{ID: id, Batch: batch, Kind: op.Kind, Code: op.Code, CreatedAt: b.now}
	var pendingAmount int64
	var pendingAt time.Time                // when the pending transfer a post or void resolves was made
	var pendingCounted emoney.CountedSides // and which of its sides limits counted
	switch {
	case op.Kind == emoney.TransferPost || op.Kind == emoney.TransferVoid:
		ref, ok := b.refs[op.PendingID]
		if !ok {
			return tr, fieldErr(emoney.ENotFound, p.String()+"pending_id", "pending transfer %s not found", op.PendingID)
		}
		if ref.Kind != emoney.TransferPending {
			return tr, fieldErr(emoney.EConflict, p.String()+"pending_id", "transfer %s is not pending", op.PendingID)
		}
		if k, done := b.resolved[ref.ID]; done {
			return tr, fieldErr(emoney.EConflict, p.String()+"pending_id", "pending transfer %s was already %s", ref.ID, pastTense(k))
		}
		if op.Kind == emoney.TransferPost && !ref.ExpiresAt.IsZero() && !b.now.Before(ref.ExpiresAt) {
			return tr, fieldErr(emoney.EConflict, p.String()+"pending_id", "pending transfer %s expired at %s", ref.ID, ref.ExpiresAt.Format(time.RFC3339))
		}
		amount := op.Amount
		if op.Kind == emoney.TransferPost {
			if amount == 0 {
				amount = ref.Amount
			}
			if amount > ref.Amount {
				return tr, fieldErr(emoney.EInvalid, p.String()+"amount", "cannot post %d of a pending %d", amount, ref.Amount)
			}
		}
		tr.From, tr.To, tr.Currency, tr.Amount, tr.PendingID = ref.From, ref.To, ref.Currency, amount, ref.ID
		if tr.Code == "" {
			tr.Code = ref.Code
		}
		pendingAmount, pendingAt, pendingCounted = ref.Amount, ref.CreatedAt, ref.Counted
		b.markResolved(ref.ID, op.Kind)
	case !op.ReversalOf.IsZero():
		ref, ok := b.refs[op.ReversalOf]
		if !ok {
			return tr, fieldErr(emoney.ENotFound, p.String()+"reversal_of", "transfer %s not found", op.ReversalOf)
		}
		if ref.Kind != emoney.TransferPosted && ref.Kind != emoney.TransferPost {
			return tr, fieldErr(emoney.EConflict, p.String()+"reversal_of", "only money that moved can be reversed; %s is a %s record", ref.ID, ref.Kind)
		}
		left := ref.Amount - b.reversed[ref.ID]
		amount := op.Amount
		if amount == 0 {
			amount = left
		}
		if amount <= 0 || amount > left {
			return tr, fieldErr(emoney.EConflict, p.String()+"amount", "transfer %s has %d left to reverse", ref.ID, left)
		}
		tr.From, tr.To, tr.Currency, tr.Amount, tr.ReversalOf = ref.To, ref.From, ref.Currency, amount, ref.ID
		b.markReversed(ref.ID, amount)
	default:
		tr.From, tr.To, tr.Currency, tr.Amount, tr.Hold = op.From, op.To, op.Currency, op.Amount, op.Hold
		if op.Timeout > 0 {
			tr.ExpiresAt = b.now.Add(op.Timeout).Truncate(time.Microsecond)
		}
	}
	from, to := effect(tr, pendingAmount)
	fk := emoney.BalanceKey{Account: tr.From, Currency: tr.Currency}
	tk := emoney.BalanceKey{Account: tr.To, Currency: tr.Currency}
	fb, ok := b.balances[fk]
	if !ok {
		return tr, fieldErr(emoney.ENotFound, p.String()+"from", "account %s not found", tr.From)
	}
	tb, ok := b.balances[tk]
	if !ok {
		return tr, fieldErr(emoney.ENotFound, p.String()+"to", "account %s not found", tr.To)
	}
	b.touch(fk)
	b.touch(tk)
	if !from.addTo(fb) || !to.addTo(tb) {
		return tr, &emoney.Error{Code: emoney.ELimitExceeded, Reason: "balance_overflow", Message: "a balance would overflow"}
	}
	if b.accounts[tr.From].Flags&emoney.FlagNoOverdraft != 0 && fb.Available() < 0 {
		return tr, fieldErr(emoney.EInsufficientFunds, p.String()+"amount", "insufficient funds")
	}
	if tr.Kind == emoney.TransferPost || tr.Kind == emoney.TransferVoid {
		// Give back, on the sides the pending transfer counted, what it does not move:
		// whoever resolves it (a bank's answer, staff, the sweeper) need not know.
		back := pendingAmount - tr.Amount
		if pendingCounted&emoney.CountedFrom != 0 {
			b.giveBack(fb, back, pendingAt, false)
		}
		if pendingCounted&emoney.CountedTo != 0 {
			b.giveBack(tb, back, pendingAt, true)
		}
	} else {
		if err := b.limit(op.FromLimit, fb, tr.Amount, false); err != nil {
			return tr, err
		}
		if err := b.limit(op.ToLimit, tb, tr.Amount, true); err != nil {
			return tr, err
		}
		if tr.Kind == emoney.TransferPending {
			if op.FromLimit != nil && op.FromLimit.Count {
				tr.Counted |= emoney.CountedFrom
			}
			if op.ToLimit != nil && op.ToLimit.Count {
				tr.Counted |= emoney.CountedTo
			}
		}
	}
	tr.FromPrev, fb.Last = fb.Last, tr.ID
	tr.ToPrev, tb.Last = tb.Last, tr.ID
	return tr, nil
}

// limit counts amount against one side's Limit and checks its caps; bal is that side's
// balance, already changed by the transfer (and saved in the undo log). credit says which side
// it is.
func (b *book) limit(l *Limit, bal *emoney.Balance, amount int64, credit bool) error {
	if l == nil {
		return nil
	}
	u := bal.Usage.At(b.day, b.month)
	day, month := &u.DayOut, &u.MonthOut
	if credit {
		day, month = &u.DayIn, &u.MonthIn
	}
	if l.Count {
		*day += amount
		*month += amount
		bal.Usage = u
	}
	switch {
	case l.Day > 0 && *day > l.Day:
		return limitErr("daily", "this would pass the wallet's daily limit of %d (Asia/Tokyo day)", l.Day)
	case l.Month > 0 && *month > l.Month:
		return limitErr("monthly", "this would pass the wallet's monthly limit of %d (Asia/Tokyo month)", l.Month)
	case credit && l.MaxBalance > 0 && bal.Balance+bal.CreditsPending > l.MaxBalance:
		return limitErr("max_balance", "the receiving wallet may hold at most %d", l.MaxBalance)
	}
	return nil
}

// giveBack takes amount off one side's counters for the periods a pending transfer made at was
// counted in, if they are still the current ones.
func (b *book) giveBack(bal *emoney.Balance, amount int64, at time.Time, credit bool) {
	if amount <= 0 {
		return
	}
	u := bal.Usage.At(b.day, b.month)
	day, month := &u.DayOut, &u.MonthOut
	if credit {
		day, month = &u.DayIn, &u.MonthIn
	}
	if emoney.TokyoDay(at) == b.day {
		*day = max(*day-amount, 0)
	}
	if emoney.TokyoMonth(at) == b.month {
		*month = max(*month-amount, 0)
	}
	bal.Usage = u
}

func limitErr(reason, format string, args ...any) error {
	e := emoney.Errorf(emoney.ELimitExceeded, format, args...)
	e.Reason, e.Field = reason, "amount"
	return e
}

// opField is the field prefix of op j, "ops[j].", built only when an error names it.
type opField int

func (j opField) String() string { return fmt.Sprintf("ops[%d].", int(j)) }

func fieldErr(code, field, format string, args ...any) error {
	e := emoney.Errorf(code, format, args...)
	e.Field = field
	return e
}

func pastTense(k emoney.TransferKind) string {
	if k == emoney.TransferPost {
		return "posted"
	}
	return "voided"
}

// begin starts the undo log for one request.
func (b *book) begin() {
	b.undoBal = b.undoBal[:0]
	b.undoResolved = b.undoResolved[:0]
	b.undoReversed = b.undoReversed[:0]
}

func (b *book) touch(k emoney.BalanceKey) {
	b.undoBal = append(b.undoBal, savedBalance{k, *b.balances[k]})
}

func (b *book) markResolved(id emoney.ID, k emoney.TransferKind) {
	b.resolved[id] = k
	b.undoResolved = append(b.undoResolved, id)
}

func (b *book) markReversed(id emoney.ID, amount int64) {
	b.undoReversed = append(b.undoReversed, savedReversed{id, b.reversed[id]})
	b.reversed[id] += amount
}

// rollback undoes everything the current request did to the book, newest change first.
func (b *book) rollback() {
	for i := len(b.undoBal) - 1; i >= 0; i-- {
		*b.balances[b.undoBal[i].k] = b.undoBal[i].old
	}
	for _, id := range b.undoResolved {
		delete(b.resolved, id)
	}
	for i := len(b.undoReversed) - 1; i >= 0; i-- {
		b.reversed[b.undoReversed[i].id] = b.undoReversed[i].old
	}
	b.begin()
}

func encodeIDs(ids []emoney.ID) []byte {
	out := make([]byte, 0, 16*len(ids))
	for _, id := range ids {
		out = append(out, id[:]...)
	}
	return out
}

func decodeIDs(b []byte) ([]emoney.ID, error) {
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("ledger: idempotency result of %d bytes", len(b))
	}
	ids := make([]emoney.ID, len(b)/16)
	for i := range ids {
		copy(ids[i][:], b[16*i:])
	}
	return ids, nil
}
