package storetest

import (
	"reflect"
	"testing"
	"time"

	"emoney"
)

// runLegacyLinks covers the link method (migration 0022): a legacy link reads back as legacy,
// an OAuth link as the zero method; legacy links of one bank account, from any number of
// wallets, hold it against nobody (the 2020 weakness, development only), while OAuth links
// keep one account to one live link beside them.
func runLegacyLinks(t *testing.T, newDB NewDatabase) {
	s, _ := open(t, newDB)
	c := ctx(t)
	link := func(user emoney.ID, method emoney.LinkMethod, sec int) emoney.BankLink {
		return emoney.BankLink{ID: ids.NewID(), User: user, Bank: "0001", AccountIndex: []byte("idx:legacy-A"),
			AccountSealed: []byte("sealed account"), HolderSealed: []byte("sealed holder"), TokensSealed: []byte("sealed token"),
			Scope: []string{"debit"}, Status: emoney.LinkActive, CreatedAt: at(sec), CoolingOffUntil: at(sec), ConsentedAt: at(sec), Method: method}
	}
	create := func(l emoney.BankLink) error {
		return s.Update(c, func(tx emoney.Tx) error { return tx.CreateLink(c, l) })
	}
	crew1, crew2, victim := ids.NewID(), ids.NewID(), ids.NewID()
	l1, l2 := link(crew1, emoney.LinkLegacy, 1), link(crew2, emoney.LinkLegacy, 2)
	must(t, create(l1))
	must(t, create(l2)) // a second wallet on the same account: nothing stops it in 2020
	own := link(victim, "", 3)
	own.Scope, own.CoolingOffUntil = []string{"holder", "debit", "credit"}, at(3).Add(72*time.Hour)
	must(t, create(own)) // the legacy links hold the account against no OAuth link
	wantCode(t, create(link(crew1, emoney.LinkOAuth, 4)), emoney.EConflict)
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		for _, want := range []emoney.BankLink{l1, l2, own} {
			got, err := tx.Link(c, want.ID)
			must(t, err)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("link read back differs:\nsaved %+v\nread  %+v", want, got)
			}
		}
		all, err := tx.LinksByAccount(c, []byte("idx:legacy-A"))
		if err != nil || len(all) != 3 {
			t.Errorf("links of the account: %d %v, want 3", len(all), err)
		}
		return nil
	}))
	// Revoking a legacy link is as for any link.
	must(t, s.Update(c, func(tx emoney.Tx) error {
		got, err := tx.RevokeLink(c, crew1, l1.ID, "user:"+crew1.String(), at(9))
		if err == nil && (got.Status != emoney.LinkRevoked || got.Method != emoney.LinkLegacy) {
			t.Errorf("revoked legacy link: %+v", got)
		}
		return err
	}))
}
