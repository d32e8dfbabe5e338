package emoney_test

import (
	"errors"
	"fmt"
	"testing"

	"emoney"
)

func TestErrorsShowClientsNoInternals(t *testing.T) {
	cause := errors.New(`pq: relation "idempotency" does not exist`)
	internal := &emoney.Error{Code: emoney.EInternal, Message: "commit failed: " + cause.Error(), Err: cause}
	wrapped := fmt.Errorf("ledger: %w", internal)
	if got := emoney.ErrorMessage(wrapped); got != "internal error" {
		t.Errorf("internal error shown as %q", got)
	}
	if !errors.Is(wrapped, cause) {
		t.Error("the cause is lost for logs")
	}
	if got := emoney.ErrorMessage(errors.New("open /etc/secret: denied")); got != "internal error" {
		t.Errorf("unclassified error shown as %q", got)
	}
	if emoney.ErrorCode(errors.New("x")) != emoney.EInternal || emoney.ErrorCode(nil) != "" || emoney.ErrorMessage(nil) != "" {
		t.Error("ErrorCode/ErrorMessage of plain and nil errors")
	}
	e := emoney.FieldError("amount", "amount must be positive")
	if emoney.ErrorCode(e) != emoney.EInvalid || emoney.ErrorField(e) != "amount" || emoney.ErrorMessage(e) != "amount must be positive" {
		t.Errorf("field error %+v", e)
	}
}

func TestIDText(t *testing.T) {
	ids := &emoney.Monotonic{}
	prev := ids.NewID()
	for i := 0; i < 1000; i++ {
		id := ids.NewID()
		if id.String() <= prev.String() {
			t.Fatalf("ids not increasing: %s after %s", id, prev)
		}
		back, err := emoney.ParseID(id.String())
		if err != nil || back != id {
			t.Fatalf("ParseID(%s) = %s, %v", id, back, err)
		}
		prev = id
	}
	for _, bad := range []string{"", "short", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01M7YT1CRYE2M8WK0Y9BHRC7W!"} {
		if _, err := emoney.ParseID(bad); emoney.ErrorCode(err) != emoney.EInvalid {
			t.Errorf("ParseID(%q) = %v, want invalid", bad, err)
		}
	}
}
