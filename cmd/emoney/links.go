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
// Production configures no bank yet: the link endpoints answer that none is configured.
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
	clientIDs, issuers, names := map[string]string{}, map[string]string{}, map[string]string{}
	for _, b := range sim.Banks() {
		if err := sim.RegisterClient(b.Code, banksim.Client{ID: devClientID, Name: "emoney (development)", JWKS: jwks, RedirectURIs: []string{redirect}}); err != nil {
			return fmt.Errorf("registering the wallet at simulated bank %s: %w", b.Code, err)
		}
		iss := sim.Issuer(b.Code)
		clientIDs[iss], issuers[b.Code], names[b.Code] = devClientID, iss, b.Name
	}
	w, err := banklink.New(banklink.Config{ClientIDs: clientIDs, Key: key, KeyID: devKeyID, RedirectURI: redirect})
	if err != nil {
		return err
	}
	t2 := s.tiers[2]
	l, err := banklink.NewLinker(s.store, s.keys, w, s.identity, s.kyc, s.policies, banklink.LinkerConfig{
		Issuers: issuers, BankNames: names, PerCharge: t2.PerOperation, Monthly: max(t2.AddMonthly, t2.PerOperation)})
	if err != nil {
		return err
	}
	s.links = l
	s.server.SetLinks(l)
	if s.banks != nil {
		// Top-ups and withdrawals through links reach the simulated banks with the links' tokens.
		s.banks.SetLinks(l.Connector())
	}
	return nil
}
