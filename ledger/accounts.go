package ledger

import (
	"context"
	"sync"

	"emoney"
)

// accountCache remembers accounts the ledger has read. Accounts never change and are never
// deleted once written, so a cached account stays true whichever process wrote it; balances,
// which do change, are never cached.
type accountCache struct {
	mu  sync.RWMutex
	m   map[emoney.ID]emoney.Account
	max int
}

func newAccountCache(max int) *accountCache {
	return &accountCache{m: make(map[emoney.ID]emoney.Account), max: max}
}

// load puts the accounts with the given ids into into, from the cache or else from tx.
// Unknown ids are left out.
func (c *accountCache) load(ctx context.Context, tx emoney.ReadTx, ids []emoney.ID, into map[emoney.ID]emoney.Account) error {
	var missing []emoney.ID
	c.mu.RLock()
	for _, id := range ids {
		if a, ok := c.m[id]; ok {
			into[id] = a
		} else {
			missing = append(missing, id)
		}
	}
	c.mu.RUnlock()
	if len(missing) == 0 {
		return nil
	}
	found, err := tx.Accounts(ctx, missing)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if len(c.m)+len(found) > c.max {
		c.m = make(map[emoney.ID]emoney.Account) // simplest bound: start over
	}
	for _, a := range found {
		c.m[a.ID] = a
		into[a.ID] = a
	}
	c.mu.Unlock()
	return nil
}

// balanceCache keeps the balances the ledger's one committer wrote in its last committed batch,
// so that the next batch need not read them again, as long as the store says nobody else has
// written since (Tx.SoleWriter). With several committers in one process the batches could
// interleave with the cache's updates, so it is used only with one.
type balanceCache struct {
	max    int
	m      map[emoney.BalanceKey]emoney.Balance
	staged map[emoney.BalanceKey]*emoney.Balance
}

func newBalanceCache(max int) *balanceCache {
	return &balanceCache{max: max, m: make(map[emoney.BalanceKey]emoney.Balance)}
}

// take copies into into the cached balances of keys, if sole, and returns the keys still to
// read. If not sole, it forgets everything.
func (c *balanceCache) take(sole bool, keys []emoney.BalanceKey, into map[emoney.BalanceKey]*emoney.Balance) []emoney.BalanceKey {
	if !sole {
		clear(c.m)
		return keys
	}
	missing := keys[:0:0]
	for _, k := range keys {
		if b, ok := c.m[k]; ok {
			into[k] = &b
		} else {
			missing = append(missing, k)
		}
	}
	return missing
}

// stage remembers the balances a batch leaves behind, to be kept if it commits.
func (c *balanceCache) stage(bs map[emoney.BalanceKey]*emoney.Balance) { c.staged = bs }

// settle keeps the staged balances if the batch committed, and forgets everything if not.
func (c *balanceCache) settle(committed bool) {
	staged := c.staged
	c.staged = nil
	if !committed {
		clear(c.m)
		return
	}
	if len(c.m)+len(staged) > c.max {
		clear(c.m)
	}
	for k, b := range staged {
		c.m[k] = *b
	}
}
