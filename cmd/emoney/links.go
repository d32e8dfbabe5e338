package main

import (
	"encoding/json"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"emoney/banklink"
	"emoney/banksim"
)

// devClientID is the wallet's client_id at every simulated bank in development.
const devClientID = "emoney-dev"

// attachDevLinker wires bank linking to the in-process bank simulator (development only): a
// ES256 key kept beside the keyset (devWalletKey), registered with the redirect URI on the API's own address
// (known only after Listen) at every simulated bank, whose issuers the wallet then trusts. The
// mandate asks tier 2's per-operation limit per charge and its monthly top-up limit a month.
// Every bank is told about links through its partner-notification endpoint
// (<issuer>/partner/notifications) and sends its webhooks to /api/v1/banks/{code}/webhooks, both
// signed with this process's devBankWebhookSecret. Production names its banks in [[banks]]
// (banks_config.go).
func (s *service) attachDevLinker(sim *banksim.Sim, apiAddr string) error {
	key, err := devWalletKey(s.walletKeyPath) // kept: emoney reconcile signs as the same client
	if err != nil {
		return err
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: devKeyID, Algorithm: string(jose.ES256), Use: "sig"}}})
	if err != nil {
		return err
	}
	redirect := "http://" + apiAddr + "/api/v1/links/callback"
	secret, err := newDevBankWebhookSecret()
	if err != nil {
		return err
	}
	// One secret per process: every simulated bank signs its webhooks to the wallet with it,
	// and the wallet signs its notices to the banks with it.
	s.devBankWebhookSecret = secret
	clientIDs, issuers, names, secrets := map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	notices := map[string]banklink.BankNotices{}
	for _, b := range sim.Banks() {
		if err := sim.RegisterClient(b.Code, banksim.Client{ID: devClientID, Name: "emoney (development)", JWKS: jwks, RedirectURIs: []string{redirect},
			WebhookURL: "http://" + apiAddr + "/api/v1/banks/" + b.Code + "/webhooks", WebhookSecret: secret}); err != nil {
			return fmt.Errorf("registering the wallet at simulated bank %s: %w", b.Code, err)
		}
		iss := sim.Issuer(b.Code)
		clientIDs[iss], issuers[b.Code], names[b.Code], secrets[b.Code] = devClientID, iss, b.Name, secret
		notices[b.Code] = banklink.BankNotices{URL: s.devNoticeURL(iss, b.Code), ClientID: devClientID, Secret: secret}
	}
	w, err := banklink.New(banklink.Config{ClientIDs: clientIDs, Key: key, KeyID: devKeyID, RedirectURI: redirect})
	if err != nil {
		return err
	}
	return s.attachLinker(w, issuers, names, notices, secrets)
}
