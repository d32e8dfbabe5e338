package main

import (
	"errors"
	"fmt"
	"io"
)

// legacyBanner is said on stderr and in /healthz's banner when serve runs with --legacy-linking.
const legacyBanner = "LEGACY LINKING ON: the 2020 PIN protocol (POST /api/v1/links/legacy) links bank accounts from any wallet; development only"

// checkLegacyLinking is serve's rule for --legacy-linking (specs/cli.md "Modes"): development
// only, like the other simulated providers, and only with the in-process bank simulator, whose
// legacy endpoint it needs.
func checkLegacyLinking(on, production bool, banksimAddr string) error {
	switch {
	case !on:
		return nil
	case production:
		return errors.New("config: mode = \"production\" refuses --legacy-linking: the 2020 PIN protocol is for development only")
	case banksimAddr == "off":
		return errors.New("--legacy-linking needs the in-process bank simulator (--banksim-addr other than off)")
	}
	return nil
}

// attachLegacyLinking turns on the 2020 PIN linking flow over the linker attachDevLinker made:
// the API's endpoint, and top-ups through legacy links reaching the banks' legacy debit
// endpoint (other links' operations go on through the linker's connector). It says so on log.
func (s *service) attachLegacyLinking(log io.Writer) error {
	if s.links == nil || s.banks == nil {
		return errors.New("--legacy-linking needs bank linking to the in-process bank simulator")
	}
	g := s.links.Legacy()
	s.server.SetLegacyLinks(g)
	s.banks.SetLinks(g.Connector(s.links.Connector()))
	s.banks.AllowLegacyLinks()
	fmt.Fprintln(log, "emoney:", legacyBanner)
	return nil
}
