package banksim

import "net/http"

// (To be written: issue 5.)

func (s *Sim) mountLegacy(mux *http.ServeMux) {}
