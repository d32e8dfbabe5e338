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
	mu     sync.RWMutex
	m      map[emoney.ID]emoney.Account
	byname map[string]emoney.ID
	max    int
}

func newAccountCache(max int) *accountCache {
	return &accountCache{m: make(map[emoney.ID]emoney.Account), byname: make(map[string]emoney.ID), max: max}
}

func (c *accountCache) get(id emoney.ID) (emoney.Account, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.m[id]
	return a, ok
}

func (c *accountCache) byName(name string) (emoney.Account, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.m[c.byname[name]]
	return a, ok
}

// put remembers accounts, starting over when full.
func (c *accountCache) put(as ...emoney.Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(as) > c.max {
		clear(c.m)
		clear(c.byname)
	}
	for _, a := range as {
		c.m[a.ID] = a
		c.byname[a.Name] = a.ID
	}
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
	c.put(found...)
	for _, a := range found {
		into[a.ID] = a
	}
	return nil
}

// balanceCache keeps the balances the ledger's one committer left behind in its last committed
// batch, so that the next batch need not read them again, as long as the store's write version
// shows that nothing but that batch was committed since (Tx.WriteVersion). With several
// committers in one process the batches could interleave with the cache's updates, so it is
// used only with one.
type balanceCache struct {
	max     int
	m       map[emoney.BalanceKey]emoney.Balance
	version int64 // the write version at which m is the truth
	valid   bool
}

func newBalanceCache(max int) *balanceCache {
	return &balanceCache{max: max, m: make(map[emoney.BalanceKey]emoney.Balance)}
}

// take copies into into the cached balances of keys, if the store is at the version the cache
// expects, and returns the keys still to read. Otherwise it forgets everything.
func (c *balanceCache) take(version int64, ok bool, keys []emoney.BalanceKey, into map[emoney.BalanceKey]*emoney.Balance) []emoney.BalanceKey {
	if !ok || !c.valid || version != c.version {
		c.forget()
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

// keep remembers balances a committed batch left behind, true at the given write version.
func (c *balanceCache) keep(bs map[emoney.BalanceKey]*emoney.Balance, version int64) {
	if len(c.m)+len(bs) > c.max {
		clear(c.m)
	}
	for k, b := range bs {
		c.m[k] = *b
	}
	c.version, c.valid = version, true
}

// forget drops everything: after a failed batch, or when someone else wrote.
func (c *balanceCache) forget() {
	clear(c.m)
	c.valid = false
}
