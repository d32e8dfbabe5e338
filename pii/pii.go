// Package pii protects personal data at rest (THREATS.md T12): names, birth dates, phone
// numbers, e-mail addresses and bank account numbers are stored sealed with an AEAD (Tink,
// AES-256-GCM), bound to the record and field they belong to, and looked up through a keyed
// hash (HMAC-SHA256), never in the clear. The keys live in a keyset file outside the database.
package pii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
	"github.com/tink-crypto/tink-go/v2/tink"

	"emoney"
)

// Keys seals and opens personal data and computes lookup indexes. It is safe for concurrent use
// (Tink's primitives are).
type Keys struct {
	mu      sync.RWMutex   // Rotate swaps the sealing keys under it
	sealing *keyset.Handle // AEAD keys: the primary seals, all open
	index   *keyset.Handle // one HMAC key: its tags are stored, so it never rotates
	aead    tink.AEAD
	mac     tink.MAC
}

// Generate makes fresh keys.
func Generate() (*Keys, error) {
	s, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("pii: new sealing key: %w", err)
	}
	i, err := keyset.NewHandle(mac.HMACSHA256Tag256KeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("pii: new index key: %w", err)
	}
	return newKeys(s, i)
}

func newKeys(sealing, index *keyset.Handle) (*Keys, error) {
	a, err := aead.New(sealing)
	if err != nil {
		return nil, fmt.Errorf("pii: sealing keys: %w", err)
	}
	m, err := mac.New(index)
	if err != nil {
		return nil, fmt.Errorf("pii: index key: %w", err)
	}
	return &Keys{sealing: sealing, index: index, aead: a, mac: m}, nil
}

// Seal encrypts plaintext bound to binding (for example "user:01J…:email"): the ciphertext
// opens only with the same binding, so it cannot be moved to another record or field.
func (k *Keys) Seal(plaintext []byte, binding string) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.aead.Encrypt(plaintext, []byte(binding))
}

// Open decrypts what Seal sealed with the same binding, under any key of the keyset. A wrong
// binding, a damaged ciphertext or an unknown key is an internal error: the data is not
// readable, and nobody outside needs to know why.
func (k *Keys) Open(ciphertext []byte, binding string) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	p, err := k.aead.Decrypt(ciphertext, []byte(binding))
	if err != nil {
		return nil, &emoney.Error{Code: emoney.EInternal, Message: "personal data could not be opened", Err: err}
	}
	return p, nil
}

// Index returns the lookup key of value for kind ("email", "phone", "bank_account"): equal
// values of one kind give equal indexes; without the key nobody can compute or reverse them.
// Callers normalise value first (lower-case e-mail, E.164 phone).
func (k *Keys) Index(kind, value string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(kind)
	b.WriteByte(0)
	b.WriteString(value)
	return k.mac.ComputeMAC(b.Bytes())
}

// Reseal opens sealed and seals it again under the current sealing key (nil stays nil), after
// a rotation.
func (k *Keys) Reseal(sealed []byte, binding string) ([]byte, error) {
	if sealed == nil {
		return nil, nil
	}
	p, err := k.Open(sealed, binding)
	if err != nil {
		return nil, err
	}
	return k.Seal(p, binding)
}

// Rotate adds a new sealing key and makes it the one that seals; the old keys still open what
// they sealed until everything is sealed again.
func (k *Keys) Rotate() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := keyset.NewManagerFromHandle(k.sealing)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return fmt.Errorf("pii: add key: %w", err)
	}
	if err := m.SetPrimary(id); err != nil {
		return fmt.Errorf("pii: set primary: %w", err)
	}
	h, err := m.Handle()
	if err != nil {
		return err
	}
	a, err := aead.New(h)
	if err != nil {
		return fmt.Errorf("pii: sealing keys: %w", err)
	}
	k.sealing, k.aead = h, a
	return nil
}

// SealingKeys is how many keys can open sealed data (1 until the first rotation).
func (k *Keys) SealingKeys() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.sealing.Len()
}

// file is the keyset file: two Tink keysets in their JSON form. The key material is in the
// clear: the file's protection is its permissions and where it is kept (outside the database,
// and in production on a secret store or behind a KMS).
type file struct {
	Version int             `json:"version"`
	Sealing json.RawMessage `json:"sealing"`
	Index   json.RawMessage `json:"index"`
}

// Save writes the keys to path (mode 0600), atomically.
func (k *Keys) Save(path string) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var f file
	f.Version = 1
	for _, part := range []struct {
		h   *keyset.Handle
		out *json.RawMessage
	}{{k.sealing, &f.Sealing}, {k.index, &f.Index}} {
		var b bytes.Buffer
		if err := insecurecleartextkeyset.Write(part.h, keyset.NewJSONWriter(&b)); err != nil {
			return fmt.Errorf("pii: write keyset: %w", err)
		}
		*part.out = b.Bytes()
	}
	body, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("pii: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keyset-*")
	if err != nil {
		return fmt.Errorf("pii: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("pii: %w", err)
	}
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return fmt.Errorf("pii: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("pii: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pii: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// Load reads keys Save wrote. It refuses a file others can read.
func Load(path string) (*Keys, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pii: keyset: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("pii: keyset %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pii: keyset: %w", err)
	}
	var f file
	if err := json.Unmarshal(body, &f); err != nil || f.Version != 1 {
		return nil, fmt.Errorf("pii: keyset %s is not a version 1 emoney keyset", path)
	}
	s, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(f.Sealing)))
	if err != nil {
		return nil, fmt.Errorf("pii: sealing keyset: %w", err)
	}
	i, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(f.Index)))
	if err != nil {
		return nil, fmt.Errorf("pii: index keyset: %w", err)
	}
	return newKeys(s, i)
}

// LoadOrCreate loads the keyset at path, or, if there is none, generates and saves one and
// says so (created): the embedded default's first start.
func LoadOrCreate(path string) (k *Keys, created bool, err error) {
	k, err = Load(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, false, err
	}
	if k, err = Generate(); err != nil {
		return nil, false, err
	}
	return k, true, k.Save(path)
}
