package bank

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Behaviour is how a simulated bank answers Debit and Credit.
type Behaviour string

const (
	// Succeed: the money moves and the bank says so.
	Succeed Behaviour = "succeed"
	// Decline: nothing moves; the bank declines with the configured reason.
	Decline Behaviour = "decline"
	// TimeOut: the request never reaches the bank; every call (Status too) ends in ErrTimeout
	// at once (no waiting: tests stay fast and deterministic).
	TimeOut Behaviour = "timeout"
	// FailAfter: the money moves, but the answer is lost (ErrConnectionLost). Status then tells
	// the truth.
	FailAfter Behaviour = "fail_after"
)

// ErrConnectionLost is the simulated answer lost after the bank acted (FailAfter).
var ErrConnectionLost = errors.New("bank: connection lost before the answer")

// SimBank configures one simulated bank.
type SimBank struct {
	Behaviour Behaviour
	Reason    string // for Decline; default "insufficient_balance"
}

// SimCalls counts the calls one simulated bank received, and the money that moved.
type SimCalls struct {
	Debit, Credit, Status int
	// Debited and Credited are what actually moved from and to customers' accounts: a request
	// sent twice with one reference moves money once.
	Debited, Credited int64
}

// Sim is an in-process bank network for development and tests: each bank code behaves as it is
// told (Set), deterministically, and keeps what it did by reference, so it is idempotent the
// way a real bank must be. It is safe for concurrent use.
type Sim struct {
	mu    sync.Mutex
	banks map[string]SimBank
	ops   map[string]map[string]simOp // bank code → reference → operation
	calls map[string]*SimCalls
}

type simOp struct {
	credit bool
	amount int64
	result Result
}

// NewSim returns a simulator in which every bank succeeds until told otherwise.
func NewSim() *Sim {
	return &Sim{banks: map[string]SimBank{}, ops: map[string]map[string]simOp{}, calls: map[string]*SimCalls{}}
}

// Set changes how the bank with the given code answers from now on.
func (s *Sim) Set(code string, b SimBank) {
	if b.Behaviour == Decline && b.Reason == "" {
		b.Reason = "insufficient_balance"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.banks[code] = b
}

// Calls returns what the bank with the given code received so far.
func (s *Sim) Calls(code string) SimCalls {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.calls[code]; c != nil {
		return *c
	}
	return SimCalls{}
}

// Connector returns the connector of the simulated bank with the given code.
func (s *Sim) Connector(code string) Connector { return simConnector{s, code} }

type simConnector struct {
	sim  *Sim
	code string
}

var _ Connector = simConnector{}

func (c simConnector) Debit(ctx context.Context, req Request) (Result, error) {
	return c.sim.move(ctx, c.code, false, req)
}

func (c simConnector) Credit(ctx context.Context, req Request) (Result, error) {
	return c.sim.move(ctx, c.code, true, req)
}

func (c simConnector) Status(ctx context.Context, ref string) (Result, error) {
	s := c.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(c.code).Status++
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if s.banks[c.code].Behaviour == TimeOut {
		return Result{}, fmt.Errorf("bank %s: %w", c.code, ErrTimeout)
	}
	op, ok := s.ops[c.code][ref]
	if !ok {
		return Result{}, ErrUnknownReference
	}
	return op.result, nil
}

func (s *Sim) count(code string) *SimCalls {
	c := s.calls[code]
	if c == nil {
		c = &SimCalls{}
		s.calls[code] = c
	}
	return c
}

func (s *Sim) move(ctx context.Context, code string, credit bool, req Request) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := s.count(code)
	if credit {
		calls.Credit++
	} else {
		calls.Debit++
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	b := s.banks[code]
	if b.Behaviour == TimeOut {
		return Result{}, fmt.Errorf("bank %s: %w", code, ErrTimeout)
	}
	if req.Reference == "" || req.Amount <= 0 {
		return Result{}, fmt.Errorf("bank %s: a request needs a reference and a positive amount", code)
	}
	op, seen := s.ops[code][req.Reference]
	switch {
	case seen && (op.credit != credit || op.amount != req.Amount):
		return Result{}, fmt.Errorf("bank %s: reference %s was used for another operation", code, req.Reference)
	case !seen:
		op = simOp{credit: credit, amount: req.Amount, result: Result{Outcome: Succeeded}}
		if b.Behaviour == Decline {
			op.result = Result{Outcome: Declined, Reason: b.Reason}
		} else if credit {
			calls.Credited += req.Amount
		} else {
			calls.Debited += req.Amount
		}
		if s.ops[code] == nil {
			s.ops[code] = map[string]simOp{}
		}
		s.ops[code][req.Reference] = op
	}
	if b.Behaviour == FailAfter {
		return Result{}, fmt.Errorf("bank %s: %w", code, ErrConnectionLost)
	}
	return op.result, nil
}
