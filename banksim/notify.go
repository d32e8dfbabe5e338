package banksim

import "net/http"

// (To be written: issue 5.)

func (s *Sim) mountNotify(mux *http.ServeMux) {}
