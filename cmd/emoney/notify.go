package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"time"
)

// newDevBankWebhookSecret makes the secret this process shares with every simulated bank
// (development): the bank signs its webhooks to the wallet with it (fraud reports, revoked
// mandates) and the wallet signs its partner notifications with it. One per process, kept in
// service.devBankWebhookSecret, which whoever verifies the banks' webhooks reads.
func newDevBankWebhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// devNoticeURL is where the wallet tells simulated bank code about links: the bank's
// partner-notification endpoint, or the same path behind devNoticeBase (tests put a proxy
// there to play a bank that is down).
func (s *service) devNoticeURL(issuer, code string) string {
	if s.devNoticeBase != "" {
		return s.devNoticeBase + "/banks/" + code + "/partner/notifications"
	}
	return issuer + "/partner/notifications"
}

// notifyLinks is the sweeper's linking step: bank notices whose first attempt failed are sent
// again (given up after a day with an alert), and holders are reminded to consent again before
// and when their links' consent runs out.
func (s *service) notifyLinks(ctx context.Context, log *slog.Logger) {
	if s.links == nil {
		return
	}
	now := time.Now()
	st, err := s.links.DeliverBankNotices(ctx, now)
	if err != nil && ctx.Err() == nil {
		log.Error("delivering bank notices", slog.Any("err", err))
	}
	if st.Delivered > 0 || st.Retrying > 0 {
		log.Info("bank notices", slog.Int("delivered", st.Delivered), slog.Int("retrying", st.Retrying))
	}
	if st.GivenUp > 0 {
		log.Warn("bank notices undelivered for a day: alerted staff", slog.Int("n", st.GivenUp))
	}
	if n, err := s.links.RemindReconsent(ctx, now); err != nil && ctx.Err() == nil {
		log.Error("re-consent reminders", slog.Any("err", err))
	} else if n > 0 {
		log.Info("sent re-consent reminders", slog.Int("n", n))
	}
}
