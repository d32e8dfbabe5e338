package bank_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"emoney"
	"emoney/bank"
	"emoney/internal/fakeclock"
)

func newBreakers(t *testing.T) (*bank.Breakers, *fakeclock.Clock, *[]string) {
	t.Helper()
	c := fakeclock.New(time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
	var changes []string
	b := bank.NewBreakers(bank.BreakerConfig{Failures: 3, Cooldown: 10 * time.Second, Now: c.Now,
		OnChange: func(code string, from, to bank.BreakerState) {
			changes = append(changes, code+":"+string(from)+">"+string(to))
		}})
	return b, c, &changes
}

func mustAcquire(t *testing.T, b *bank.Breakers, code string) *bank.Ticket {
	t.Helper()
	tk, err := b.Acquire(code)
	if err != nil {
		t.Fatalf("acquire %s: %v", code, err)
	}
	return tk
}

func refused(t *testing.T, b *bank.Breakers, code string, wantWait int) {
	t.Helper()
	_, err := b.Acquire(code)
	var u *bank.Unavailable
	if !errors.As(err, &u) || emoney.ErrorCode(err) != emoney.EBankUnavailable {
		t.Fatalf("acquire %s: %v, want bank_unavailable", code, err)
	}
	if u.RetryAfterSeconds() != wantWait {
		t.Errorf("retry after %d s, want %d", u.RetryAfterSeconds(), wantWait)
	}
}

func TestBreakerOpensAfterFailuresInARow(t *testing.T) {
	b, c, changes := newBreakers(t)
	// Two failures, then an answer: the count starts again.
	mustAcquire(t, b, "0001").NoAnswer()
	mustAcquire(t, b, "0001").NoAnswer()
	mustAcquire(t, b, "0001").Answered()
	mustAcquire(t, b, "0001").NoAnswer()
	mustAcquire(t, b, "0001").NoAnswer()
	if st, _ := b.State("0001"); st != bank.BreakerClosed {
		t.Fatalf("after 2 failures in a row: %s, want closed", st)
	}
	mustAcquire(t, b, "0001").NoAnswer()
	st, probe := b.State("0001")
	if st != bank.BreakerOpen || !probe.Equal(c.Now().Add(10*time.Second)) {
		t.Fatalf("after 3 failures in a row: %s, probe at %v", st, probe)
	}
	refused(t, b, "0001", 10)
	// Another bank is not affected.
	mustAcquire(t, b, "0005").Answered()
	c.Add(4 * time.Second)
	refused(t, b, "0001", 6)
	if len(*changes) != 1 || (*changes)[0] != "0001:closed>open" {
		t.Errorf("changes: %v", *changes)
	}
}

func TestBreakerProbe(t *testing.T) {
	b, c, changes := newBreakers(t)
	for range 3 {
		mustAcquire(t, b, "0001").NoAnswer()
	}
	c.Add(10 * time.Second)
	// After the cool-down one probe goes; while it is out, others are refused.
	probe := mustAcquire(t, b, "0001")
	if st, _ := b.State("0001"); st != bank.BreakerHalfOpen {
		t.Fatalf("with the probe out: %s", st)
	}
	refused(t, b, "0001", 1)
	// The probe gets no answer: open again for a whole cool-down.
	probe.NoAnswer()
	refused(t, b, "0001", 10)
	c.Add(10 * time.Second)
	// A probe not sent after all (the operation was refused before the bank) frees the slot.
	mustAcquire(t, b, "0001").Release()
	probe = mustAcquire(t, b, "0001")
	probe.Answered()
	probe.NoAnswer() // a second outcome of one ticket counts for nothing
	if st, _ := b.State("0001"); st != bank.BreakerClosed {
		t.Fatalf("after the probe's answer: %s, want closed", st)
	}
	// Closed again, it takes the full run of failures to open.
	mustAcquire(t, b, "0001").NoAnswer()
	mustAcquire(t, b, "0001").NoAnswer()
	mustAcquire(t, b, "0001")
	want := []string{"0001:closed>open", "0001:open>half_open", "0001:half_open>open", "0001:open>half_open", "0001:half_open>closed"}
	if len(*changes) != len(want) {
		t.Fatalf("changes: %v, want %v", *changes, want)
	}
	for i := range want {
		if (*changes)[i] != want[i] {
			t.Errorf("change %d: %s, want %s", i, (*changes)[i], want[i])
		}
	}
}

// A late answer of a call made while the breaker was closed still tells that the bank answers;
// a late failure of such a call does not re-open a half-open breaker (only its probe does).
func TestBreakerLateOutcomes(t *testing.T) {
	b, c, _ := newBreakers(t)
	early := mustAcquire(t, b, "0001")
	earlyFail := mustAcquire(t, b, "0001")
	for range 3 {
		mustAcquire(t, b, "0001").NoAnswer()
	}
	c.Add(10 * time.Second)
	probe := mustAcquire(t, b, "0001")
	earlyFail.NoAnswer()
	if st, _ := b.State("0001"); st != bank.BreakerHalfOpen {
		t.Fatalf("after a late failure: %s, want half_open", st)
	}
	early.Release() // not a probe: frees nothing
	refused(t, b, "0001", 1)
	early2 := early
	early2.Answered() // released already: nothing
	if st, _ := b.State("0001"); st != bank.BreakerHalfOpen {
		t.Fatalf("after a released ticket's answer: %s", st)
	}
	probe.Answered()
	if st, _ := b.State("0001"); st != bank.BreakerClosed {
		t.Fatalf("after the probe's answer: %s", st)
	}
}

func TestBreakerConcurrent(t *testing.T) {
	b := bank.NewBreakers(bank.BreakerConfig{Failures: 1000000})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 1000 {
				tk, err := b.Acquire("0001")
				if err != nil {
					t.Error(err)
					return
				}
				if (i+j)%2 == 0 {
					tk.Answered()
				} else {
					tk.NoAnswer()
				}
				b.State("0001")
			}
		}()
	}
	wg.Wait()
}
