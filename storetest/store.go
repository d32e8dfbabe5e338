package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"emoney"
)

var ids = &emoney.Monotonic{}

func at(sec int) time.Time { return time.Date(2026, 11, 1, 9, 0, sec, 123456000, time.UTC) }

func runStore(t *testing.T, newDB NewDatabase) {
	t.Run("MigrateIsIdempotent", func(t *testing.T) {
		s, _ := open(t, newDB)
		must(t, s.Migrate(ctx(t)))
		v, err := s.SchemaVersion(ctx(t))
		must(t, err)
		if v < 1 {
			t.Fatalf("schema version %d after migrate", v)
		}
	})

	t.Run("Accounts", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		a := emoney.Account{ID: ids.NewID(), Name: "wallet:a", Kind: emoney.AccountWallet, Flags: emoney.FlagNoOverdraft, CreatedAt: at(1)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateAccount(c, a) }))
		dupName := a
		dupName.ID = ids.NewID()
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateAccount(c, dupName) }), emoney.EConflict)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.Account(c, a.ID)
			must(t, err)
			if got != a {
				t.Errorf("Account = %+v, want %+v", got, a)
			}
			got, err = tx.AccountByName(c, "wallet:a")
			must(t, err)
			if got != a {
				t.Errorf("AccountByName = %+v, want %+v", got, a)
			}
			_, err = tx.Account(c, ids.NewID())
			wantCode(t, err, emoney.ENotFound)
			_, err = tx.AccountByName(c, "nobody")
			wantCode(t, err, emoney.ENotFound)
			list, err := tx.Accounts(c, []emoney.ID{a.ID, ids.NewID()})
			must(t, err)
			if len(list) != 1 || list[0] != a {
				t.Errorf("Accounts = %+v", list)
			}
			return nil
		}))
	})

	t.Run("RollbackLeavesNothing", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		boom := errors.New("boom")
		a := emoney.Account{ID: ids.NewID(), Name: "x", Kind: emoney.AccountSuspense, CreatedAt: at(1)}
		err := s.Update(c, func(tx emoney.Tx) error {
			must(t, tx.CreateAccount(c, a))
			must(t, tx.AppendOutbox(c, []emoney.OutboxEvent{{Topic: "t", Key: "k", Payload: []byte("{}"), CreatedAt: at(1)}}))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update returned %v, want fn's error", err)
		}
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			_, err := tx.Account(c, a.ID)
			wantCode(t, err, emoney.ENotFound)
			ev, err := tx.Outbox(c, 0, 10)
			must(t, err)
			if len(ev) != 0 {
				t.Errorf("outbox has %d events after rollback", len(ev))
			}
			return nil
		}))
	})

	t.Run("LockAndSaveBalances", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		a := emoney.Account{ID: ids.NewID(), Name: "bank:0001", Kind: emoney.AccountBank, CreatedAt: at(1)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateAccount(c, a) }))
		must(t, s.Update(c, func(tx emoney.Tx) error {
			got, err := tx.LockBalances(c, []emoney.BalanceKey{{Account: a.ID, Currency: "JPY"}, {Account: a.ID, Currency: "USD"}})
			must(t, err)
			if len(got) != 2 {
				t.Fatalf("LockBalances returned %d rows, want 2: %+v", len(got), got)
			}
			for _, b := range got {
				if b.Account != a.ID || b.Balance != 0 || b.DebitsPending != 0 || b.CreditsPending != 0 || (b.Currency != "JPY" && b.Currency != "USD") {
					t.Errorf("new balance = %+v", b)
				}
			}
			return tx.SaveBalances(c, []emoney.Balance{{Account: a.ID, Currency: "JPY", Balance: -500, DebitsPending: 7, CreditsPending: 3}})
		}))
		must(t, s.Update(c, func(tx emoney.Tx) error {
			got, err := tx.LockBalances(c, []emoney.BalanceKey{{Account: a.ID, Currency: "JPY"}})
			must(t, err)
			want := emoney.Balance{Account: a.ID, Currency: "JPY", Balance: -500, DebitsPending: 7, CreditsPending: 3}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("after save: %+v, want %+v", got, want)
			}
			got[0].Balance = -400
			return tx.SaveBalances(c, got)
		}))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			bs, err := tx.Balances(c, a.ID)
			must(t, err)
			if len(bs) != 1 || bs[0].Balance != -400 {
				t.Errorf("Balances = %+v", bs)
			}
			n := 0
			must(t, tx.ScanBalances(c, func(emoney.Balance) error { n++; return nil }))
			if n != 1 {
				t.Errorf("ScanBalances saw %d", n)
			}
			return nil
		}))
	})

	t.Run("ManyRowsInOneCall", func(t *testing.T) {
		// Stores split large calls into chunks; the chunk edges must not lose or repeat rows.
		s, _ := open(t, newDB)
		c := ctx(t)
		const n = 1000
		accts := make([]emoney.Account, n)
		keys := make([]emoney.BalanceKey, n)
		bals := make([]emoney.Balance, n)
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for i := range accts {
				accts[i] = emoney.Account{ID: ids.NewID(), Name: fmt.Sprintf("acct:%d", i), Kind: emoney.AccountMerchant, CreatedAt: at(1)}
				keys[i] = emoney.BalanceKey{Account: accts[i].ID, Currency: "JPY"}
				bals[i] = emoney.Balance{Account: accts[i].ID, Currency: "JPY", Balance: int64(i)}
				must(t, tx.CreateAccount(c, accts[i]))
			}
			locked, err := tx.LockBalances(c, keys)
			must(t, err)
			if len(locked) != n {
				t.Fatalf("locked %d of %d", len(locked), n)
			}
			must(t, tx.SaveBalances(c, bals))
			trs := make([]emoney.Transfer, n-1)
			for i := range trs {
				trs[i] = emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPosted, From: accts[i].ID, To: accts[i+1].ID, Currency: "JPY", Amount: 1, Code: "p2p", CreatedAt: at(2)}
			}
			must(t, tx.InsertTransfers(c, trs))
			recs := make([]emoney.IdempotencyRecord, n)
			ikeys := make([]emoney.IdempotencyKey, n)
			for i := range recs {
				ikeys[i] = emoney.IdempotencyKey{Principal: "p", Key: fmt.Sprint(i)}
				recs[i] = emoney.IdempotencyRecord{IdempotencyKey: ikeys[i], RequestHash: []byte{1}, Result: []byte{byte(i)}, CreatedAt: at(2)}
			}
			claimed, err := tx.ClaimIdempotency(c, recs)
			must(t, err)
			for i, ok := range claimed {
				if !ok {
					t.Fatalf("key %d not claimed", i)
				}
			}
			got, err := tx.Idempotency(c, ikeys)
			must(t, err)
			if len(got) != n {
				t.Fatalf("Idempotency returned %d of %d", len(got), n)
			}
			allIDs := make([]emoney.ID, len(trs))
			for i := range trs {
				allIDs[i] = trs[i].ID
			}
			back, err := tx.Transfers(c, allIDs)
			must(t, err)
			if len(back) != len(trs) {
				t.Fatalf("Transfers returned %d of %d", len(back), len(trs))
			}
			list, err := tx.Accounts(c, []emoney.ID{accts[0].ID, accts[500].ID, accts[999].ID})
			must(t, err)
			if len(list) != 3 {
				t.Fatalf("Accounts returned %d of 3", len(list))
			}
			return nil
		}))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var sum int64
			must(t, tx.ScanBalances(c, func(b emoney.Balance) error { sum += b.Balance; return nil }))
			if sum != n*(n-1)/2 {
				t.Errorf("sum of balances %d", sum)
			}
			return nil
		}))
	})

	t.Run("Transfers", func(t *testing.T) { testTransfers(t, newDB) })

	t.Run("Idempotency", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		k := emoney.IdempotencyKey{Principal: "wallet:1", Key: "abc"}
		rec := emoney.IdempotencyRecord{IdempotencyKey: k, RequestHash: []byte{1, 2, 3}, Result: []byte{9, 9}, CreatedAt: at(1)}
		claim := func(recs ...emoney.IdempotencyRecord) []bool {
			t.Helper()
			var got []bool
			must(t, s.Update(c, func(tx emoney.Tx) error {
				var err error
				got, err = tx.ClaimIdempotency(c, recs)
				return err
			}))
			return got
		}
		if got := claim(rec); fmt.Sprint(got) != "[true]" {
			t.Fatalf("first claim = %v", got)
		}
		again := rec
		again.RequestHash = []byte{4}
		other := rec
		other.Principal = "wallet:2" // keys are scoped per principal
		third := rec
		third.Key = "def"
		if got := claim(again, other, third); fmt.Sprint(got) != "[false true true]" {
			t.Fatalf("claims = %v, want [false true true]", got)
		}
		// Released keys are free again; a rolled-back claim never took the key.
		must(t, s.Update(c, func(tx emoney.Tx) error {
			return tx.ReleaseIdempotency(c, []emoney.IdempotencyKey{third.IdempotencyKey})
		}))
		_ = s.Update(c, func(tx emoney.Tx) error {
			_, err := tx.ClaimIdempotency(c, []emoney.IdempotencyRecord{{IdempotencyKey: emoney.IdempotencyKey{Principal: "wallet:1", Key: "rolled-back"}, RequestHash: []byte{1}, Result: []byte{}, CreatedAt: at(1)}})
			must(t, err)
			return errors.New("roll back")
		})
		if got := claim(third, emoney.IdempotencyRecord{IdempotencyKey: emoney.IdempotencyKey{Principal: "wallet:1", Key: "rolled-back"}, RequestHash: []byte{1}, Result: []byte{}, CreatedAt: at(1)}); fmt.Sprint(got) != "[true true]" {
			t.Fatalf("claims after release and rollback = %v", got)
		}
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.Idempotency(c, []emoney.IdempotencyKey{k, {Principal: "wallet:1", Key: "zzz"}})
			must(t, err)
			if len(got) != 1 || !bytes.Equal(got[0].RequestHash, rec.RequestHash) || !bytes.Equal(got[0].Result, rec.Result) || !got[0].CreatedAt.Equal(rec.CreatedAt) {
				t.Errorf("Idempotency = %+v", got)
			}
			return nil
		}))
	})

	t.Run("Outbox", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		for i := 0; i < 3; i++ {
			must(t, s.Update(c, func(tx emoney.Tx) error {
				return tx.AppendOutbox(c, []emoney.OutboxEvent{
					{Topic: "a", Key: "w1", Payload: []byte(fmt.Sprintf(`{"n":%d}`, 2*i)), CreatedAt: at(i)},
					{Topic: "b", Key: "w2", Payload: []byte(fmt.Sprintf(`{"n":%d}`, 2*i+1)), CreatedAt: at(i)},
				})
			}))
		}
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			ev, err := tx.Outbox(c, 0, 100)
			must(t, err)
			if len(ev) != 6 {
				t.Fatalf("outbox has %d events, want 6", len(ev))
			}
			for i, e := range ev {
				if string(e.Payload) != fmt.Sprintf(`{"n":%d}`, i) {
					t.Errorf("event %d payload %s: not in commit order", i, e.Payload)
				}
				if i > 0 && e.Seq <= ev[i-1].Seq {
					t.Errorf("seq not increasing: %d after %d", e.Seq, ev[i-1].Seq)
				}
			}
			rest, err := tx.Outbox(c, ev[3].Seq, 100)
			must(t, err)
			if len(rest) != 2 {
				t.Errorf("Outbox after %d: %d events", ev[3].Seq, len(rest))
			}
			return nil
		}))
	})

	t.Run("Audit", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		var prev []byte
		for i := 1; i <= 3; i++ {
			must(t, s.Update(c, func(tx emoney.Tx) error {
				h, err := tx.LockAuditHead(c)
				must(t, err)
				if h.Seq != int64(i-1) || !bytes.Equal(h.Hash, prev) {
					t.Fatalf("head = %+v, want seq %d", h, i-1)
				}
				e := emoney.AuditEntry{Seq: int64(i), At: at(i), Actor: "cli", Action: "test", Object: "o", Detail: []byte(`{}`), PrevHash: []byte("p"), Hash: []byte{byte(i)}}
				prev = e.Hash
				return tx.AppendAudit(c, e)
			}))
		}
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var seqs []int64
			must(t, tx.ScanAudit(c, func(e emoney.AuditEntry) error {
				seqs = append(seqs, e.Seq)
				if !e.At.Equal(at(int(e.Seq))) || e.Actor != "cli" || string(e.Detail) != "{}" {
					t.Errorf("entry %+v", e)
				}
				return nil
			}))
			if fmt.Sprint(seqs) != "[1 2 3]" {
				t.Errorf("ScanAudit seqs %v", seqs)
			}
			h, err := tx.AuditHead(c)
			must(t, err)
			if h.Seq != 3 || !bytes.Equal(h.Hash, []byte{3}) {
				t.Errorf("head %+v", h)
			}
			return nil
		}))
		// A second entry with a taken seq is refused.
		wantCode(t, s.Update(c, func(tx emoney.Tx) error {
			return tx.AppendAudit(c, emoney.AuditEntry{Seq: 2, At: at(9), Actor: "x", Action: "y", Detail: []byte("{}"), PrevHash: []byte{1}, Hash: []byte{1}})
		}), emoney.EConflict)
	})
}

func testTransfers(t *testing.T, newDB NewDatabase) {
	s, _ := open(t, newDB)
	c := ctx(t)
	a := emoney.Account{ID: ids.NewID(), Name: "a", Kind: emoney.AccountBank, CreatedAt: at(0)}
	b := emoney.Account{ID: ids.NewID(), Name: "b", Kind: emoney.AccountWallet, Flags: emoney.FlagNoOverdraft, CreatedAt: at(0)}
	pend := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPending, From: a.ID, To: b.ID, Currency: "JPY", Amount: 100, Code: "auth", Hold: emoney.HoldAuthorization, ExpiresAt: at(30), CreatedAt: at(1)}
	pend2 := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPending, From: a.ID, To: b.ID, Currency: "JPY", Amount: 50, Code: "auth", Hold: emoney.HoldAuthorization, ExpiresAt: at(20), CreatedAt: at(1)}
	pend3 := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPending, From: a.ID, To: b.ID, Currency: "JPY", Amount: 70, Code: "topup", Hold: emoney.HoldBankDebit, CreatedAt: at(1)}
	plain := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPosted, From: a.ID, To: b.ID, Currency: "JPY", Amount: 10, Code: "topup", CreatedAt: at(2)}
	must(t, s.Update(c, func(tx emoney.Tx) error {
		must(t, tx.CreateAccount(c, a))
		must(t, tx.CreateAccount(c, b))
		must(t, tx.InsertTransfers(c, []emoney.Transfer{pend, pend2, pend3, plain}))
		return tx.SaveBalances(c, []emoney.Balance{{Account: b.ID, Currency: "JPY", Balance: 10, CreditsPending: 220, Last: plain.ID}})
	}))
	post := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPost, From: a.ID, To: b.ID, Currency: "JPY", Amount: 80, Code: "auth", PendingID: pend.ID, CreatedAt: at(3), FromPrev: plain.ID, ToPrev: plain.ID}
	rev := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPosted, From: b.ID, To: a.ID, Currency: "JPY", Amount: 4, Code: "reversal", ReversalOf: plain.ID, CreatedAt: at(4)}
	must(t, s.Update(c, func(tx emoney.Tx) error { return tx.InsertTransfers(c, []emoney.Transfer{post, rev}) }))
	dupID := plain
	wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.InsertTransfers(c, []emoney.Transfer{dupID}) }), emoney.EConflict)
	void := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferVoid, From: a.ID, To: b.ID, Currency: "JPY", PendingID: pend.ID, CreatedAt: at(5)}
	wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.InsertTransfers(c, []emoney.Transfer{void}) }), emoney.EConflict)

	must(t, s.View(c, func(tx emoney.ReadTx) error {
		got, err := tx.Transfers(c, []emoney.ID{pend.ID, post.ID, ids.NewID()})
		must(t, err)
		if len(got) != 2 || got[0] != pend || got[1] != post {
			t.Errorf("Transfers = %+v\nwant %+v\n     %+v", got, pend, post)
		}
		res, err := tx.Resolutions(c, []emoney.ID{pend.ID, pend2.ID})
		must(t, err)
		if len(res) != 1 || res[0] != post {
			t.Errorf("Resolutions = %+v", res)
		}
		bal, err := tx.Balance(c, emoney.BalanceKey{Account: b.ID, Currency: "JPY"})
		must(t, err)
		if bal != (emoney.Balance{Account: b.ID, Currency: "JPY", Balance: 10, CreditsPending: 220, Last: plain.ID}) {
			t.Errorf("Balance = %+v", bal)
		}
		none, err := tx.Balance(c, emoney.BalanceKey{Account: b.ID, Currency: "EUR"})
		must(t, err)
		if none != (emoney.Balance{Account: b.ID, Currency: "EUR"}) {
			t.Errorf("Balance in a currency never held = %+v", none)
		}
		revs, err := tx.Reversals(c, []emoney.ID{plain.ID, pend.ID})
		must(t, err)
		if len(revs) != 1 || revs[0] != rev {
			t.Errorf("Reversals = %+v", revs)
		}
		exp, err := tx.ExpiredPending(c, at(25), 10)
		must(t, err)
		if len(exp) != 1 || exp[0] != pend2 {
			t.Errorf("ExpiredPending(at 25s) = %+v, want only the unresolved, expired one", exp)
		}
		exp, err = tx.ExpiredPending(c, at(40), 10)
		must(t, err)
		if len(exp) != 1 {
			t.Errorf("ExpiredPending(at 40s) = %d transfers; the posted one and the one without expiry must not be there", len(exp))
		}
		n := 0
		var last emoney.ID
		must(t, tx.ScanTransfers(c, func(tr emoney.Transfer) error {
			if n > 0 && bytes.Compare(tr.ID[:], last[:]) <= 0 {
				t.Errorf("ScanTransfers not in id order")
			}
			last = tr.ID
			n++
			return nil
		}))
		if n != 6 {
			t.Errorf("ScanTransfers saw %d", n)
		}
		stop := errors.New("stop")
		if err := tx.ScanTransfers(c, func(emoney.Transfer) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("ScanTransfers did not return fn's error: %v", err)
		}
		return nil
	}))
}
