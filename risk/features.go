package risk

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"time"

	"emoney"
)

// Young is how young a wallet or a link is "new" for fan-in: a receiver paid by many wallets or
// links younger than this is the collector of a mule ring (THREATS.md T6).
const Young = 7 * 24 * time.Hour

// Capacities of the small sets an entity keeps; distinct counts saturate at them.
const (
	setWallets = 32 // wallets seen on a device, an IP or a bank account
	setPayees  = 64 // receivers a wallet paid
	setSenders = 64 // wallets that paid a receiver
	setDevices = 16 // devices a wallet used
)

// DefaultMaxKeys bounds the entities Features keeps (wallets, devices, IPs, bank accounts and
// merchants together). An entity takes 0.2 to 2.2 KiB (a wallet that sends, receives and tops up
// keeps three series of 624 bytes and its sets), so the default bounds the features near 220 MiB
// at worst and far less in practice.
const DefaultMaxKeys = 100_000

// Features is the engine's memory: per entity, sliding windows and small sets, updated by
// Record and read by vector. It is safe for concurrent use; Engine serialises the decisions of
// one wallet so that its counts are read and updated as one step.
type Features struct {
	seed     maphash.Seed
	shards   [64]shard
	perShard int
}

type shard struct {
	mu sync.Mutex
	m  map[uint64]*entity
}

// kinds of entity, part of its key.
const (
	kindWallet byte = iota + 1
	kindDevice
	kindIP
	kindAccount
	kindMerchant
)

// entity is what is known of one wallet, device, IP, bank account or merchant. Fields are used
// by the kinds named in their comments; series are made on first use.
type entity struct {
	lastSeen int64 // unix seconds: eviction picks the longest unseen

	out   *series // wallet: money sent (transfers, payments, withdrawals)
	in    *series // wallet, merchant: money received (transfers, payments)
	topup *series // wallet, account: top-ups from banks
	seen  *series // device, ip: events

	wallets idSet // device, ip, account: wallets seen
	payees  idSet // wallet: receivers paid
	senders idSet // wallet, merchant: wallets that paid it
	newSend idSet // wallet, merchant: new wallets or links that paid it
	devices idSet // wallet: devices used

	openedAt   int64 // wallet: when it was opened (or first seen), unix seconds
	lastTopUp  int64 // wallet: unix seconds of its last top-up
	lastLink   int64 // wallet: of its last successful bank link
	loginFails int32 // wallet: failed logins since the last good one
	otpFails   int32 // wallet: failed second factors since the last good one
}

// NewFeatures returns empty features keeping at most maxKeys entities (DefaultMaxKeys if 0).
func NewFeatures(maxKeys int) *Features {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	f := &Features{seed: maphash.MakeSeed(), perShard: max(1, maxKeys/64)}
	for i := range f.shards {
		f.shards[i].m = map[uint64]*entity{}
	}
	return f
}

func (f *Features) key(kind byte, s string) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteByte(kind)
	h.WriteString(s)
	return h.Sum64()
}

// with runs fn on the entity of key (made if create), under its shard's lock; fn gets nil for an
// unknown entity when !create. Shard locks are leaves: fn takes no other lock.
func (f *Features) with(key uint64, create bool, at time.Time, fn func(*entity)) {
	sh := &f.shards[key%uint64(len(f.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[key]
	if e == nil && create {
		if len(sh.m) >= f.perShard {
			sh.evict()
		}
		e = &entity{}
		sh.m[key] = e
	}
	if e != nil && create && at.Unix() > e.lastSeen {
		e.lastSeen = at.Unix()
	}
	fn(e)
}

// evict drops the longest unseen of a few entities picked at random (Go's map order), as an
// approximation of least recently used that costs no bookkeeping per event.
func (sh *shard) evict() {
	var (
		victim uint64
		oldest int64 = 1<<63 - 1
		n            = 0
		sample       = 5 + rand.IntN(4)
	)
	for k, e := range sh.m {
		if e.lastSeen < oldest {
			victim, oldest = k, e.lastSeen
		}
		if n++; n >= sample {
			break
		}
	}
	delete(sh.m, victim)
}

// Len returns how many entities are kept.
func (f *Features) Len() int {
	n := 0
	for i := range f.shards {
		f.shards[i].mu.Lock()
		n += len(f.shards[i].m)
		f.shards[i].mu.Unlock()
	}
	return n
}

func addTo(s **series, at time.Time, amount int64) {
	if *s == nil {
		*s = &series{}
	}
	(*s).add(at, amount)
}

func win(s *series, h int, now time.Time) (int64, int64) {
	if s == nil {
		return 0, 0
	}
	return s.window(h, now)
}

func secs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// Record adds an event that happened (allowed, or held for review) to the features.
func (f *Features) Record(ev *Event) {
	at := ev.At
	wk := f.key(kindWallet, ev.Wallet)
	walletKey := wk
	newSender := false
	if ev.Wallet != "" {
		f.with(wk, true, at, func(e *entity) {
			if e.openedAt == 0 || (!ev.WalletOpenedAt.IsZero() && secs(ev.WalletOpenedAt) < e.openedAt) {
				e.openedAt = secs(ev.WalletOpenedAt)
				if e.openedAt == 0 {
					e.openedAt = at.Unix()
				}
			}
			newSender = at.Unix()-e.openedAt < int64(Young/time.Second) ||
				(e.lastLink != 0 && at.Unix()-e.lastLink < int64(Young/time.Second))
			if ev.Device != "" {
				e.devices.add(f.key(kindDevice, ev.Device), at, setDevices)
			}
			switch ev.Type {
			case Transfer, Payment, Withdrawal:
				addTo(&e.out, at, ev.Amount)
				if r := ev.receiver(); r != "" {
					e.payees.add(f.key(kindWallet, r), at, setPayees)
				}
			case PayeeAdded:
				if r := ev.receiver(); r != "" {
					e.payees.add(f.key(kindWallet, r), at, setPayees)
				}
			case TopUp:
				addTo(&e.topup, at, ev.Amount)
				e.lastTopUp = at.Unix()
			case Refund:
				addTo(&e.in, at, ev.Amount)
			case BankLink:
				if ev.OK {
					e.lastLink = at.Unix()
				}
			case Login:
				switch {
				case ev.OK:
					e.loginFails, e.otpFails = 0, 0
				case ev.Factor == "" || ev.Factor == "password":
					e.loginFails++
				default:
					e.otpFails++
				}
			}
		})
	}
	if !ev.LinkedAt.IsZero() && at.Sub(ev.LinkedAt) < Young {
		newSender = true
	}
	// The receiver of money.
	switch ev.Type {
	case Transfer, Payment:
		kind, id := kindWallet, ev.To
		if ev.Type == Payment {
			kind, id = kindMerchant, ev.Merchant
		}
		if id != "" {
			f.with(f.key(kind, id), true, at, func(e *entity) {
				if kind == kindWallet && e.openedAt == 0 {
					e.openedAt = secs(ev.ToOpenedAt)
					if e.openedAt == 0 {
						e.openedAt = at.Unix()
					}
				}
				addTo(&e.in, at, ev.Amount)
				if ev.Wallet != "" {
					e.senders.add(walletKey, at, setSenders)
					if newSender {
						e.newSend.add(walletKey, at, setSenders)
					}
				}
			})
		}
	}
	if ev.Account != "" && (ev.Type == TopUp || ev.Type == BankLink || ev.Type == Withdrawal) {
		f.with(f.key(kindAccount, ev.Account), true, at, func(e *entity) {
			if ev.Type == TopUp {
				addTo(&e.topup, at, ev.Amount)
			}
			if ev.Wallet != "" && (ev.Type != BankLink || ev.OK) {
				e.wallets.add(walletKey, at, setWallets)
			}
		})
	}
	for _, d := range [2]struct {
		kind byte
		id   string
	}{{kindDevice, ev.Device}, {kindIP, ev.IP}} {
		if d.id == "" {
			continue
		}
		f.with(f.key(d.kind, d.id), true, at, func(e *entity) {
			addTo(&e.seen, at, ev.Amount)
			if ev.Wallet != "" {
				e.wallets.add(walletKey, at, setWallets)
			}
		})
	}
}

// vector computes the features of ev from what was recorded before it.
func (f *Features) vector(ev *Event, v *Vector) {
	at := ev.At
	*v = Vector{Type: string(ev.Type), Amount: ev.Amount, Bank: ev.Bank, KYCTier: int64(ev.KYCTier),
		Hour: int64(at.In(emoney.Tokyo).Hour()), WalletAgeHours: -1, LinkAgeHours: -1, ReceiverAgeHours: -1,
		SinceTopUpMinutes: -1, SinceLinkMinutes: -1, LoginOK: ev.OK, Factor: ev.Factor}
	if !ev.WalletOpenedAt.IsZero() {
		v.WalletAgeHours = int64(at.Sub(ev.WalletOpenedAt) / time.Hour)
	}
	if !ev.LinkedAt.IsZero() {
		v.LinkAgeHours = int64(at.Sub(ev.LinkedAt) / time.Hour)
	}
	if ev.Available >= 0 && ev.Type.Money() && ev.Type != TopUp && ev.Type != Refund {
		if ev.Available > 0 {
			v.DrainRatio = float64(ev.Amount) / float64(ev.Available)
		} else if ev.Amount > 0 {
			v.DrainRatio = 1
		}
	}
	walletKey := f.key(kindWallet, ev.Wallet)
	recv := ev.receiver()
	var recvKey uint64
	if recv != "" {
		recvKey = f.key(kindWallet, recv)
		v.FirstTimePayee = true
	}
	deviceKey := f.key(kindDevice, ev.Device)
	if ev.Wallet != "" {
		f.with(walletKey, false, at, func(e *entity) {
			if e == nil {
				v.NewDevice = ev.Device != ""
				return
			}
			if v.WalletAgeHours < 0 && e.openedAt != 0 {
				v.WalletAgeHours = (at.Unix() - e.openedAt) / 3600
			}
			v.OutCount1m, v.OutSum1m = win(e.out, W1m, at)
			v.OutCount1h, v.OutSum1h = win(e.out, W1h, at)
			v.OutCount24h, v.OutSum24h = win(e.out, W24h, at)
			v.OutCount30d, v.OutSum30d = win(e.out, W30d, at)
			v.InCount24h, v.InSum24h = win(e.in, W24h, at)
			_, v.InSum30d = win(e.in, W30d, at)
			v.TopUpCount1h, v.TopUpSum1h = win(e.topup, W1h, at)
			v.TopUpCount24h, v.TopUpSum24h = win(e.topup, W24h, at)
			_, v.TopUpSum30d = win(e.topup, W30d, at)
			v.Payees30d = e.payees.since(at.Add(-30 * 24 * time.Hour))
			if recv != "" {
				v.FirstTimePayee = !e.payees.has(recvKey)
			}
			v.NewDevice = ev.Device != "" && !e.devices.has(deviceKey)
			v.Devices30d = e.devices.since(at.Add(-30 * 24 * time.Hour))
			if e.lastTopUp != 0 {
				v.SinceTopUpMinutes = (at.Unix() - e.lastTopUp) / 60
			}
			if e.lastLink != 0 {
				v.SinceLinkMinutes = (at.Unix() - e.lastLink) / 60
			}
			v.LoginFailures, v.OTPFailures = int64(e.loginFails), int64(e.otpFails)
		})
	}
	if recv != "" {
		kind, id := kindWallet, ev.To
		if ev.Type == Payment {
			kind, id = kindMerchant, ev.Merchant
		}
		f.with(f.key(kind, id), false, at, func(e *entity) {
			if e == nil {
				return
			}
			if kind == kindWallet && e.openedAt != 0 {
				v.ReceiverAgeHours = (at.Unix() - e.openedAt) / 3600
			}
			v.ReceiverInCount24h, v.ReceiverInSum24h = win(e.in, W24h, at)
			day := at.Add(-24 * time.Hour)
			v.ReceiverSenders24h = e.senders.since(day)
			v.ReceiverNewSenders24h = e.newSend.since(day)
		})
		if v.ReceiverAgeHours < 0 && !ev.ToOpenedAt.IsZero() {
			v.ReceiverAgeHours = int64(at.Sub(ev.ToOpenedAt) / time.Hour)
		}
	}
	month := at.Add(-30 * 24 * time.Hour)
	if ev.Account != "" {
		f.with(f.key(kindAccount, ev.Account), false, at, func(e *entity) {
			if e == nil {
				return
			}
			v.AccountTopUpCount24h, v.AccountTopUpSum24h = win(e.topup, W24h, at)
			_, v.AccountTopUpSum30d = win(e.topup, W30d, at)
			v.AccountWallets = e.wallets.since(month)
			if ev.Wallet != "" && !e.wallets.has(walletKey) {
				v.AccountWallets++ // this one would be another
			}
		})
	}
	if ev.Device != "" {
		v.DeviceCount1h, v.DeviceWallets = f.shared(deviceKey, walletKey, at)
	}
	if ev.IP != "" {
		v.IPCount1h, v.IPWallets = f.shared(f.key(kindIP, ev.IP), walletKey, at)
	}
}

// shared returns what a device or an IP (key) says of an event of the wallet walletKey: its
// events in the last hour, and the wallets seen on it in 30 days, this one included.
func (f *Features) shared(key, walletKey uint64, at time.Time) (lastHour, wallets int64) {
	wallets = 1
	f.with(key, false, at, func(e *entity) {
		if e == nil {
			return
		}
		lastHour, _ = win(e.seen, W1h, at)
		wallets = e.wallets.since(at.Add(-30 * 24 * time.Hour))
		if !e.wallets.has(walletKey) {
			wallets++
		}
	})
	return lastHour, wallets
}
