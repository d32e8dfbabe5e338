package banklink_test

import (
	"fmt"
	"strings"
	"testing"

	"emoney/banklink"
)

// A legacy request printed by mistake (a log line, an error) shows neither the PIN nor the
// account number.
func TestLegacyRequestNeverPrintsThePIN(t *testing.T) {
	r := banklink.LegacyRequest{Bank: "0001", HolderKana: "ﾀﾅｶ ﾊﾅｺ", Branch: "001", AccountNumber: "5000001", PIN: "4826"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, r)
		if strings.Contains(out, "4826") || strings.Contains(out, "5000001") {
			t.Errorf("%s shows a secret: %s", verb, out)
		}
	}
	if out := fmt.Sprintf("%v", &r); strings.Contains(out, "4826") {
		t.Errorf("a pointer shows the PIN: %s", out)
	}
}
