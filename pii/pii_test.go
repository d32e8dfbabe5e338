package pii_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"emoney"
	"emoney/pii"
)

func TestSealOpenIndexRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "keyset.json")
	k, created, err := pii.LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: %v created=%v", err, created)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("keyset mode %v", st.Mode().Perm())
	}
	secret := []byte("ヤマダ タロウ")
	ct, err := k.Seal(secret, "user:1:name_kana")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, secret) {
		t.Fatal("sealed data holds the plaintext")
	}
	if _, err := k.Open(ct, "user:2:name_kana"); emoney.ErrorCode(err) != emoney.EInternal {
		t.Errorf("opened under another record's binding: %v", err)
	}
	ix1, _ := k.Index("email", "alice@example.com")
	ix2, _ := k.Index("email", "alice@example.com")
	ix3, _ := k.Index("phone", "alice@example.com")
	if !bytes.Equal(ix1, ix2) || bytes.Equal(ix1, ix3) {
		t.Error("index must be equal for equal values and differ across kinds")
	}

	// Reload: same keys.
	k2, created, err := pii.LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("reload: %v created=%v", err, created)
	}
	if p, err := k2.Open(ct, "user:1:name_kana"); err != nil || !bytes.Equal(p, secret) {
		t.Fatalf("reloaded keys cannot open: %v", err)
	}
	if ix, _ := k2.Index("email", "alice@example.com"); !bytes.Equal(ix, ix1) {
		t.Error("the index changed after reload: lookups would break")
	}

	// Rotate: new data under the new key, old data still opens, the index is unchanged.
	if err := k2.Rotate(); err != nil {
		t.Fatal(err)
	}
	if k2.SealingKeys() != 2 {
		t.Errorf("%d sealing keys after rotation", k2.SealingKeys())
	}
	if p, err := k2.Open(ct, "user:1:name_kana"); err != nil || !bytes.Equal(p, secret) {
		t.Fatalf("old data after rotation: %v", err)
	}
	ct2, _ := k2.Seal(secret, "user:1:name_kana")
	if _, err := k.Open(ct2, "user:1:name_kana"); err == nil {
		t.Error("the old keyset opened data sealed under the new key")
	}
	if ix, _ := k2.Index("email", "alice@example.com"); !bytes.Equal(ix, ix1) {
		t.Error("rotation changed the index")
	}
	if err := k2.Save(path); err != nil {
		t.Fatal(err)
	}
	k3, err := pii.Load(path)
	if err != nil || k3.SealingKeys() != 2 {
		t.Fatalf("load after rotation: %v", err)
	}

	// A keyset others can read is refused.
	os.Chmod(path, 0o644)
	if _, err := pii.Load(path); err == nil {
		t.Error("a world-readable keyset was loaded")
	}
	os.WriteFile(filepath.Join(filepath.Dir(path), "junk.json"), []byte(`{"version":1}`), 0o600)
	if _, err := pii.Load(filepath.Join(filepath.Dir(path), "junk.json")); err == nil {
		t.Error("a keyset without keys was loaded")
	}
}
