package banksim

// LiveTokens returns how many tokens (access and refresh) issued under the grant with the given
// id at bank code are still accepted: not revoked, by themselves or with their family. Tests use
// it to see that a wallet revoked what it was given (RFC 7009) without holding the tokens.
func (s *Sim) LiveTokens(code, grant string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.bank(code); err != nil {
		return 0, err
	}
	as, n := s.oauth(), 0
	for _, m := range []map[string]*issuedToken{as.access, as.refresh} {
		for _, t := range m {
			if t.bank != code || t.grant != grant || t.revoked {
				continue
			}
			if f := as.families[t.family]; f != nil && f.revoked {
				continue
			}
			n++
		}
	}
	return n, nil
}
