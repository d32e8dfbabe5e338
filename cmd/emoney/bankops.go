package main

import (
	"context"
	"log/slog"
	"time"

	"emoney/bank"
)

// devBanks is the bank network of development mode: simulated banks, in-process. 0001 moves the
// money; 9900 declines every request (insufficient_balance), to see a refusal end to end. Tests
// tell the simulator otherwise per bank code (time-outs, answers lost after the money moved).
// Real connectors come with the linking issue.
func devBanks() (*bank.Registry, *bank.Sim, error) {
	sim := bank.NewSim()
	sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})
	sim.Set("9900", bank.SimBank{Behaviour: bank.Decline, Reason: "insufficient_balance"})
	reg, err := bank.NewRegistry(
		bank.Bank{Code: "0001", Name: "Simulated Bank (succeeds)", Connector: sim.Connector("0001")},
		bank.Bank{Code: "9900", Name: "Simulated Bank (declines)", Connector: sim.Connector("9900")},
	)
	return reg, sim, err
}

// reconcileBanks is the sweeper's bank step: top-ups and withdrawals whose answer was lost are
// finished from the bank's answer, or alerted to staff once unknown for too long.
func (s *service) reconcileBanks(ctx context.Context, log *slog.Logger) {
	if s.banks == nil {
		return
	}
	st, err := s.banks.Reconcile(ctx, time.Now())
	if err != nil && ctx.Err() == nil {
		log.Error("reconciling bank operations", slog.Any("err", err))
	}
	if st.Resolved > 0 {
		log.Info("resolved bank operations from the bank's answer", slog.Int("n", st.Resolved))
	}
	if st.Alerted > 0 {
		log.Warn("bank operations unknown for too long: alerted staff", slog.Int("n", st.Alerted))
	}
}
