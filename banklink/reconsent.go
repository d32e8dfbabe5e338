package banklink

// Re-consent reminders (shared/DESIGN.md "Bank linking", step 8): money stops through a link
// once its consent is older than the bank policy's ReconsentDays (money.BankOps). The holder is
// told twice: ReconsentNotice before that deadline, and once more when it passes (within a week
// of it: a sweeper that was down longer does not remind of long-gone deadlines). Each reminder
// is deduplicated per link and deadline, so any number of sweeps, on any number of instances,
// send it once; a link consented again has a new deadline and is reminded again.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"emoney"
)

// ReconsentNotice is how long before the re-consent deadline the holder is first reminded.
const ReconsentNotice = 14 * 24 * time.Hour

const (
	reconsentLate  = 7 * 24 * time.Hour // the deadline reminder is sent up to a week after it
	reconsentPage  = 500
	reconsentEvery = 10 * time.Minute // a pass at most this often (per Linker)
)

// RemindReconsent sends the re-consent reminders due at now, for every linkable bank, and
// returns how many it sent. It runs at most every 10 minutes of now per Linker (the sweeper
// calls it every 30 s); it is safe for concurrent use and across instances. Errors: internal.
func (l *Linker) RemindReconsent(ctx context.Context, now time.Time) (int, error) {
	l.remindMu.Lock()
	if !l.remindedAt.IsZero() && now.Before(l.remindedAt.Add(reconsentEvery)) && !now.Before(l.remindedAt) {
		l.remindMu.Unlock()
		return 0, nil
	}
	l.remindedAt = now
	l.remindMu.Unlock()
	sent := 0
	for _, bank := range slices.Sorted(maps.Keys(l.cfg.Issuers)) {
		pol, err := l.policies.Get(ctx, bank)
		if err != nil {
			return sent, err
		}
		if pol.ReconsentDays < 1 {
			continue
		}
		// Deadline = consented + days: the links whose deadline is in [now - late, now + notice].
		from := now.AddDate(0, 0, -pol.ReconsentDays).Add(-reconsentLate)
		to := now.AddDate(0, 0, -pol.ReconsentDays).Add(ReconsentNotice + time.Microsecond)
		for {
			var links []emoney.BankLink
			if err := l.store.View(ctx, func(tx emoney.ReadTx) error {
				var err error
				links, err = tx.LinksConsentedBetween(ctx, bank, from, to, reconsentPage)
				return err
			}); err != nil {
				return sent, err
			}
			for _, link := range links {
				n, err := l.remind(ctx, link, pol.ReconsentDays, now)
				if err != nil {
					return sent, err
				}
				sent += n
			}
			if len(links) < reconsentPage {
				break
			}
			from = links[len(links)-1].ConsentedAt.Add(time.Microsecond)
		}
	}
	return sent, nil
}

// remind tells link's holder what is due at now: 1 if it sent a reminder, 0 if none was due
// or it was sent before.
func (l *Linker) remind(ctx context.Context, link emoney.BankLink, days int, now time.Time) (int, error) {
	deadline := link.ConsentedAt.AddDate(0, 0, days)
	key := fmt.Sprintf("reconsent:%s:%d:", link.ID, deadline.Unix())
	var kind, what string
	switch {
	case !now.Before(deadline):
		kind, key = NotifyReconsentDue, key+"due"
		what = fmt.Sprintf("your consent at the bank ran out on %s: top-ups and withdrawals through this account have stopped. Link the account again to use it.", jstTime(deadline))
	case !now.Before(deadline.Add(-ReconsentNotice)):
		kind, key = NotifyReconsentSoon, key+"soon"
		what = fmt.Sprintf("your consent at the bank runs out on %s. Link the account again before then to keep topping up and withdrawing.", jstTime(deadline))
	default:
		return 0, nil
	}
	created, err := l.notifyHolder(ctx, link, kind, key, what)
	if created {
		return 1, err
	}
	return 0, err
}
