package row

import (
	"fmt"
	"strings"

	"emoney"
)

// PasskeyCols is the column list Passkey.Dest expects.
const PasskeyCols = `id, user_id, credential_id, public_key, sign_count, aaguid, transports, flags, name, created_at, last_used_at`

// Passkey is a row of the passkeys table as both stores select it (PasskeyCols).
type Passkey struct {
	ID, User, CredentialID, PublicKey []byte
	SignCount                         int64
	AAGUID                            []byte
	Transports                        string
	Flags                             int64
	Name                              string
	CreatedAt                         int64
	LastUsedAt                        *int64
}

// Dest returns the scan destinations, in column order.
func (r *Passkey) Dest() []any {
	return []any{&r.ID, &r.User, &r.CredentialID, &r.PublicKey, &r.SignCount, &r.AAGUID, &r.Transports, &r.Flags, &r.Name, &r.CreatedAt, &r.LastUsedAt}
}

// Decode returns the passkey the row holds; an error if an id is malformed or a number is out
// of range.
func (r *Passkey) Decode() (emoney.Passkey, error) {
	id, err := emoney.IDFromBytes(r.ID)
	if err != nil {
		return emoney.Passkey{}, err
	}
	user, err := emoney.IDFromBytes(r.User)
	if err != nil {
		return emoney.Passkey{}, err
	}
	if r.SignCount < 0 || r.SignCount > 1<<32-1 || r.Flags < 0 || r.Flags > 255 {
		return emoney.Passkey{}, fmt.Errorf("passkey %x: sign count %d or flags %d out of range", r.ID, r.SignCount, r.Flags)
	}
	p := emoney.Passkey{ID: id, User: user, CredentialID: r.CredentialID, PublicKey: r.PublicKey, SignCount: uint32(r.SignCount),
		AAGUID: r.AAGUID, Flags: uint8(r.Flags), Name: r.Name, CreatedAt: Time(r.CreatedAt)}
	if r.Transports != "" {
		p.Transports = strings.Split(r.Transports, ",")
	}
	if r.LastUsedAt != nil {
		p.LastUsedAt = Time(*r.LastUsedAt)
	}
	return p, nil
}

// Transports is how both stores write a passkey's transports: comma-separated.
func Transports(t []string) string { return strings.Join(t, ",") }
