package emoney

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ID identifies accounts, transfers and the other records emoney keeps: 128 bits, the first 48 a
// millisecond timestamp and the rest random (the ULID layout), so ids are opaque to clients yet
// sort roughly by creation time, which keeps database indexes appending at one end.
// The zero ID means "none".
type ID [16]byte

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// String returns the 26-character Crockford base32 form.
func (id ID) String() string {
	var out [26]byte
	// 128 bits in 26 symbols of 5 bits: the first symbol carries the top 3 bits.
	hi := binary.BigEndian.Uint64(id[:8])
	lo := binary.BigEndian.Uint64(id[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// Time returns the creation time encoded in id.
func (id ID) Time() time.Time {
	ms := uint64(id[0])<<40 | uint64(id[1])<<32 | uint64(id[2])<<24 | uint64(id[3])<<16 | uint64(id[4])<<8 | uint64(id[5])
	return time.UnixMilli(int64(ms))
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses the 26-character form (case-insensitive). It returns an invalid error for
// anything else.
func ParseID(s string) (ID, error) {
	if len(s) != 26 {
		return ID{}, Errorf(EInvalid, "id must be 26 characters")
	}
	var hi, lo uint64
	for i := 0; i < len(s); i++ {
		c := strings.IndexByte(crockford, upper(s[i]))
		if c < 0 || (i == 0 && c > 7) {
			return ID{}, Errorf(EInvalid, "id %q is not valid", s)
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(c)
	}
	var id ID
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id, nil
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// IDFromBytes converts a 16-byte slice read from a store; any other length is an error.
func IDFromBytes(b []byte) (ID, error) {
	var id ID
	if len(b) == 0 {
		return id, nil
	}
	if len(b) != len(id) {
		return id, fmt.Errorf("id has %d bytes, want 16", len(b))
	}
	copy(id[:], b)
	return id, nil
}

// Bytes returns id as a slice for a store, or nil for the zero ID (stored as NULL).
func (id ID) Bytes() []byte {
	if id.IsZero() {
		return nil
	}
	b := id
	return b[:]
}

// IDSource makes new IDs. Inject one so tests can be deterministic.
type IDSource interface {
	NewID() ID
}

// Monotonic is an IDSource whose ids strictly increase within one process: within one millisecond
// the random part is incremented rather than drawn again. It is safe for concurrent use.
type Monotonic struct {
	Now func() time.Time // defaults to time.Now

	mu   sync.Mutex
	last ID
}

// NewID returns a new ID, greater than every ID this source returned before.
func (m *Monotonic) NewID() ID {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	ms := uint64(now().UnixMilli())
	m.mu.Lock()
	defer m.mu.Unlock()
	var id ID
	id[0], id[1], id[2], id[3], id[4], id[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	lastMS := m.last.Time().UnixMilli()
	if int64(ms) <= lastMS && !m.last.IsZero() {
		// Same (or an earlier, if the clock stepped back) millisecond: continue from the last id.
		id = m.last
		for i := 15; i >= 6; i-- {
			id[i]++
			if id[i] != 0 {
				break
			}
		}
	} else {
		rand.Read(id[6:])
		id[6] &= 0x7f // leave room to increment within the millisecond
	}
	m.last = id
	return id
}
