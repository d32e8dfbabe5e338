package http

import (
	"net/http"

	"emoney"
	"emoney/money"
)

// routes is the whole route table.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Operations: unauthenticated by design (specs: health, metrics, OpenAPI, OAuth callback).
	mux.Handle("GET /healthz", s.wrap(s.healthz))
	mux.Handle("GET /readyz", s.wrap(s.readyz))
	mux.Handle("GET /metrics", s.cfg.Metrics.handler())
	mux.Handle("GET /api/v1/openapi.json", s.wrap(s.openapi))

	// Identity.
	mux.Handle("POST /api/v1/signup", s.wrap(s.signup))
	mux.Handle("POST /api/v1/login", s.wrap(s.login))
	mux.Handle("POST /api/v1/staff/enrol", s.wrap(s.staffEnrol))
	mux.Handle("POST /api/v1/logout", s.wrap(s.user(s.logout)))
	mux.Handle("GET /api/v1/me", s.wrap(s.user(s.me)))
	mux.Handle("POST /api/v1/totp", s.wrap(s.user(s.enrolTOTP)))
	mux.Handle("POST /api/v1/totp/confirm", s.wrap(s.user(s.confirmTOTP)))
	mux.Handle("POST /api/v1/stepup", s.wrap(s.user(s.stepUp)))

	// Verification (KYC tiers).
	mux.Handle("POST /api/v1/kyc/phone", s.wrap(s.user(s.startPhone, emoney.RoleCustomer)))
	mux.Handle("POST /api/v1/kyc/phone/confirm", s.wrap(s.user(s.confirmPhone, emoney.RoleCustomer)))
	mux.Handle("POST /api/v1/kyc/ekyc", s.wrap(s.user(s.ekyc, emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/kyc", s.wrap(s.user(s.kycStatus, emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/limits", s.wrap(s.user(s.limits, emoney.RoleCustomer)))

	// Money.
	mux.Handle("POST /api/v1/transfers", s.wrap(s.user(s.transfer, emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/transfers/{id}", s.wrap(s.user(s.getTransfer, emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/history", s.wrap(s.user(s.history, emoney.RoleCustomer)))
	mux.Handle("POST /api/v1/payments", s.wrap(s.user(s.pay, emoney.RoleCustomer)))
	mux.Handle("POST /api/v1/cashins", s.wrap(s.partner(s.cashIn, emoney.RoleAgent)))
	mux.Handle("POST /api/v1/refunds", s.wrap(s.partner(s.refund, emoney.RoleMerchant)))
	// Bank operations: top-ups and withdrawals (money between a wallet and the customer's bank).
	mux.Handle("POST /api/v1/topups", s.wrap(s.user(s.startBankOp(money.KindTopUp), emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/topups/{id}", s.wrap(s.user(s.getBankOp(money.KindTopUp), emoney.RoleCustomer)))
	mux.Handle("POST /api/v1/withdrawals", s.wrap(s.user(s.startBankOp(money.KindWithdrawal), emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/withdrawals/{id}", s.wrap(s.user(s.getBankOp(money.KindWithdrawal), emoney.RoleCustomer)))
	// Staff.
	mux.Handle("GET /api/v1/staff/alerts", s.wrap(s.user(s.listAlerts, emoney.RoleSupport, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/alerts/{id}/release", s.wrap(s.user(s.decideAlert(true), emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/alerts/{id}/reject", s.wrap(s.user(s.decideAlert(false), emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("GET /api/v1/partner", s.wrap(s.partner(s.partnerMe, emoney.RoleAgent, emoney.RoleMerchant)))
	// Passkeys (WebAuthn step-up factors): any signed-in user, customer or staff.
	mux.Handle("POST /api/v1/passkeys/register/begin", s.wrap(s.user(s.beginPasskeyRegistration)))
	mux.Handle("POST /api/v1/passkeys/register/finish", s.wrap(s.user(s.finishPasskeyRegistration)))
	mux.Handle("GET /api/v1/passkeys", s.wrap(s.user(s.listPasskeys)))
	mux.Handle("DELETE /api/v1/passkeys/{id}", s.wrap(s.user(s.deletePasskey)))
	mux.Handle("POST /api/v1/stepup/passkey/begin", s.wrap(s.user(s.beginPasskeyStepUp)))
	mux.Handle("POST /api/v1/stepup/passkey/finish", s.wrap(s.user(s.finishPasskeyStepUp)))

	// Payees, sign-out everywhere, maker-checker and staff administration (api_payees.go,
	// api_staffops.go).
	mux.Handle("POST /api/v1/payees", s.wrap(s.user(s.addPayee, emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/payees", s.wrap(s.user(s.listPayees, emoney.RoleCustomer)))
	mux.Handle("DELETE /api/v1/payees/{id}", s.wrap(s.user(s.deletePayee, emoney.RoleCustomer)))
	mux.Handle("POST /api/v1/sessions/revoke-all", s.wrap(s.user(s.revokeAllSessions)))
	mux.Handle("POST /api/v1/staff/alerts/{id}/approve", s.wrap(s.user(s.approveAlert, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/alerts/{id}/decline", s.wrap(s.user(s.declineAlert, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/users/{id}/disable", s.wrap(s.user(s.disableStaff, emoney.RoleAdmin)))
	// Webhooks: a merchant sets where its events go (and gets a new signing secret).
	mux.Handle("PUT /api/v1/partner/webhook", s.wrap(s.partner(s.setWebhook, emoney.RoleMerchant)))
	mux.Handle("GET /api/v1/partner/webhook", s.wrap(s.partner(s.getWebhook, emoney.RoleMerchant)))
	// Per-bank policies and kill switches (api_bankpolicy.go): any staff member reads; admins
	// change policies; senior analysts and admins pull and release kill switches.
	// The risk engine's rules and decisions (api_risk.go).
	mux.Handle("GET /api/v1/staff/risk/rules", s.wrap(s.user(s.listRules, emoney.RoleSupport, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("PUT /api/v1/staff/risk/rules/{id}", s.wrap(s.user(s.putRule, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("GET /api/v1/staff/risk/decisions", s.wrap(s.user(s.listDecisions, emoney.RoleSupport, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("GET /api/v1/staff/risk/decisions/{id}", s.wrap(s.user(s.getDecision, emoney.RoleSupport, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("GET /api/v1/staff/banks", s.wrap(s.user(s.listBanks, emoney.RoleSupport, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("GET /api/v1/staff/banks/{code}", s.wrap(s.user(s.getBank, emoney.RoleSupport, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("PUT /api/v1/staff/banks/{code}/policy", s.wrap(s.user(s.setPolicy, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/banks/{code}/killswitch/{which}", s.wrap(s.user(s.killSwitch(true), emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("DELETE /api/v1/staff/banks/{code}/killswitch/{which}", s.wrap(s.user(s.killSwitch(false), emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	// Bank links (api_links.go): customers link, list and unlink their bank accounts; the
	// callback is where the bank sends the customer back, unauthenticated by design (the
	// single-use state is the capability).
	mux.Handle("POST /api/v1/links", s.wrap(s.user(s.startLink, emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/links", s.wrap(s.user(s.listLinks, emoney.RoleCustomer)))
	mux.Handle("GET /api/v1/links/callback", s.wrap(s.linkCallback))
	mux.Handle("DELETE /api/v1/links/{id}", s.wrap(s.user(s.deleteLink, emoney.RoleCustomer)))
	// The 2020 PIN linking flow (api_links_legacy.go): development only, with
	// serve --legacy-linking; any signed-in customer, as in 2020. Otherwise 404.
	mux.Handle("POST /api/v1/links/legacy", s.wrap(s.user(s.legacyLink, emoney.RoleCustomer)))
	// Notifications (api_notifications.go): what the wallet told a customer, newest first.
	mux.Handle("GET /api/v1/notifications", s.wrap(s.user(s.listNotifications, emoney.RoleCustomer)))
	mux.Handle("POST /api/v1/notifications/{id}/read", s.wrap(s.user(s.readNotification, emoney.RoleCustomer)))
	// Webhooks from banks (api_bankhooks.go): unauthenticated except by the bank's signature
	// (HMAC with the bank's secret, 5-minute window), checked before the body is read.
	mux.Handle("POST /api/v1/banks/{code}/webhooks", s.wrap(s.bankWebhook))
	// Staff decisions on bank links and linking locks (api_staff_links.go): analysts and up;
	// every decision needs a fresh step-up and a reason.
	mux.Handle("GET /api/v1/staff/links", s.wrap(s.user(s.staffLinks, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("GET /api/v1/staff/links/{id}", s.wrap(s.user(s.staffLink, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/links/{id}/release", s.wrap(s.user(s.decideLink("release"), emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/links/{id}/reject", s.wrap(s.user(s.decideLink("reject"), emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/links/{id}/revoke", s.wrap(s.user(s.decideLink("revoke"), emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	mux.Handle("POST /api/v1/staff/users/{id}/link-unlock", s.wrap(s.user(s.unlockLinking, emoney.RoleAnalyst, emoney.RoleSeniorAnalyst, emoney.RoleAdmin)))
	// Anything else is answered as the API answers: JSON, with a request id.
	mux.Handle("/", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return emoney.Errorf(emoney.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
	return s.observe(mux)
}
