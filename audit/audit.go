// Package audit keeps the append-only, hash-chained audit log: every entry's hash covers its own
// content and the previous entry's hash, so editing or removing any entry breaks the chain from
// there on, which Verify reports.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"emoney"
)

// Append adds an entry to the audit log inside tx, after the head it locks, so that appends from
// every process form one chain. It fills e's Seq, PrevHash and Hash and returns it.
func Append(ctx context.Context, tx emoney.Tx, e emoney.AuditEntry) (emoney.AuditEntry, error) {
	if e.Actor == "" || e.Action == "" || e.At.IsZero() {
		return e, emoney.Errorf(emoney.EInvalid, "audit entry needs a time, an actor and an action")
	}
	if len(e.Detail) == 0 {
		e.Detail = []byte("{}")
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	head, err := tx.LockAuditHead(ctx)
	if err != nil {
		return e, err
	}
	e.Seq = head.Seq + 1
	e.PrevHash = head.Hash
	if e.PrevHash == nil {
		e.PrevHash = genesis[:]
	}
	e.Hash = Hash(e)
	return e, tx.AppendAudit(ctx, e)
}

// genesis is the previous hash of the first entry.
var genesis [sha256.Size]byte

// Hash is the entry's chain hash: SHA-256 over the previous hash and every field but Hash.
func Hash(e emoney.AuditEntry) []byte {
	h := sha256.New()
	h.Write(e.PrevHash)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UnixMicro()))
	h.Write(n[:])
	for _, f := range [][]byte{[]byte(e.Actor), []byte(e.Action), []byte(e.Object), e.Detail} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	return h.Sum(nil)
}

// Report is what Verify found.
type Report struct {
	Entries  int      `json:"entries"`
	HeadSeq  int64    `json:"head_seq"`
	HeadHash string   `json:"head_hash"` // hex; keep a copy outside the database to anchor the chain
	Problems []string `json:"problems"`
}

// OK reports whether the chain is whole.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify walks the whole log and reports every entry whose hash does not match its content, every
// gap or break in the chain, and a head that does not match the last entry (entries removed from
// the end). It returns an error only if the store could not be read.
func Verify(ctx context.Context, store emoney.Store) (Report, error) {
	var r Report
	err := store.View(ctx, func(tx emoney.ReadTx) error {
		prev := genesis[:]
		var seq int64
		if err := tx.ScanAudit(ctx, func(e emoney.AuditEntry) error {
			r.Entries++
			if e.Seq != seq+1 {
				r.Problems = append(r.Problems, fmt.Sprintf("entry %d follows entry %d: %d entries missing", e.Seq, seq, e.Seq-seq-1))
			}
			if !bytes.Equal(e.PrevHash, prev) {
				r.Problems = append(r.Problems, fmt.Sprintf("entry %d does not link to the entry before it", e.Seq))
			}
			if !bytes.Equal(Hash(e), e.Hash) {
				r.Problems = append(r.Problems, fmt.Sprintf("entry %d was changed after it was written (%s %s by %s)", e.Seq, e.Action, e.Object, e.Actor))
			}
			prev, seq = e.Hash, e.Seq
			return nil
		}); err != nil {
			return err
		}
		head, err := tx.AuditHead(ctx)
		if err != nil {
			return err
		}
		r.HeadSeq = head.Seq
		r.HeadHash = fmt.Sprintf("%x", head.Hash)
		if head.Seq != seq || (seq > 0 && !bytes.Equal(head.Hash, prev)) {
			r.Problems = append(r.Problems, fmt.Sprintf("the log ends at entry %d but its head says %d: entries removed from the end", seq, head.Seq))
		}
		return nil
	})
	return r, err
}
