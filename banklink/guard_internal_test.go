package banklink

import "testing"

// The callback refuses a grant that lacks any scope linking asks for (a bank that narrowed it,
// or a customer who unticked one): the token's scope is what the bank granted, whatever was asked.
func TestMissingScope(t *testing.T) {
	for _, c := range []struct {
		granted []string
		want    string
	}{
		{[]string{"holder", "debit", "credit"}, ""},
		{[]string{"credit", "holder", "debit", "extra"}, ""},
		{[]string{"holder", "debit"}, "credit"},
		{[]string{"debit", "credit"}, "holder"},
		{nil, "holder"},
	} {
		if got := missingScope(c.granted); got != c.want {
			t.Errorf("missingScope(%q) = %q, want %q", c.granted, got, c.want)
		}
	}
}
