package ledger

import (
	"encoding/json"
	"testing"
	"time"

	"emoney"
)

// The hand-written event payload must say exactly what encoding/json would.
func TestCommittedPayloadMatchesEncodingJSON(t *testing.T) {
	ids := &emoney.Monotonic{}
	at := time.Date(2026, 11, 21, 9, 0, 0, 123456000, time.UTC)
	trs := []emoney.Transfer{
		{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPosted, From: ids.NewID(), To: ids.NewID(), Currency: "JPY", Amount: 120, Code: "p2p", CreatedAt: at, FromPrev: ids.NewID()},
		{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPending, From: ids.NewID(), To: ids.NewID(), Currency: "USD", Amount: 1, Code: "payment", Hold: emoney.HoldAuthorization, ExpiresAt: at.Add(time.Minute), CreatedAt: at, ToPrev: ids.NewID(), Counted: emoney.CountedFrom | emoney.CountedTo},
		{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPost, From: ids.NewID(), To: ids.NewID(), Currency: "JPY", Amount: 5, Code: "x", PendingID: ids.NewID(), ReversalOf: ids.NewID(), CreatedAt: at.Add(time.Second)},
	}
	batch := ids.NewID()
	for _, principal := range []string{"wallet:01ABC", `odd "principal" <&> ü`} {
		want, err := json.Marshal(committedEvent{Batch: batch, Principal: principal, Transfers: trs})
		if err != nil {
			t.Fatal(err)
		}
		if got := committedPayload(principal, batch, trs); string(got) != string(want) {
			t.Errorf("payload\n got %s\nwant %s", got, want)
		}
	}
}

type committedEvent struct {
	Batch     emoney.ID         `json:"batch"`
	Principal string            `json:"principal"`
	Transfers []emoney.Transfer `json:"transfers"`
}
