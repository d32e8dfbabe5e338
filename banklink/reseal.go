package banklink

import (
	"context"

	"emoney"
	"emoney/pii"
)

// Reseal seals every bank link's account, holder and tokens, and every linking flow waiting
// for its callback, again under keys' newest key (after pii.Keys.Rotate), and returns how many
// links and flows it resealed. Each link or flow is rewritten in its own transaction: run it
// again after an error to finish (every value still opens with the keyset). Servers must be
// stopped: a token refresh saved meanwhile under the old key would be overwritten.
func Reseal(ctx context.Context, store emoney.Store, keys *pii.Keys) (links, flows int, err error) {
	const page = 200
	var after emoney.ID
	for {
		var ls []emoney.BankLink
		if err := store.View(ctx, func(tx emoney.ReadTx) error {
			var err error
			ls, err = tx.LinksAfter(ctx, after, page)
			return err
		}); err != nil {
			return links, flows, err
		}
		for _, l := range ls {
			prefix := "link:" + l.ID.String()
			a, err := keys.Reseal(l.AccountSealed, prefix+":account")
			if err != nil {
				return links, flows, err
			}
			h, err := keys.Reseal(l.HolderSealed, prefix+":holder")
			if err != nil {
				return links, flows, err
			}
			t, err := keys.Reseal(l.TokensSealed, prefix+":tokens")
			if err != nil {
				return links, flows, err
			}
			if err := store.Update(ctx, func(tx emoney.Tx) error { return tx.ResealLink(ctx, l.ID, a, h, t) }); err != nil {
				return links, flows, err
			}
			links++
		}
		if len(ls) < page {
			break
		}
		after = ls[len(ls)-1].ID
	}
	var afterHash []byte
	for {
		var fs []emoney.LinkFlow
		if err := store.View(ctx, func(tx emoney.ReadTx) error {
			var err error
			fs, err = tx.LinkFlowsAfter(ctx, afterHash, page)
			return err
		}); err != nil {
			return links, flows, err
		}
		for _, f := range fs {
			sealed, err := keys.Reseal(f.Sealed, flowBinding(f.StateHash))
			if err != nil {
				return links, flows, err
			}
			err = store.Update(ctx, func(tx emoney.Tx) error { return tx.ResealLinkFlow(ctx, f.StateHash, sealed) })
			if err != nil && emoney.ErrorCode(err) != emoney.ENotFound { // taken or swept meanwhile: nothing to keep
				return links, flows, err
			}
			flows++
		}
		if len(fs) < page {
			return links, flows, nil
		}
		afterHash = fs[len(fs)-1].StateHash
	}
}
