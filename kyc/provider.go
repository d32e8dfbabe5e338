package kyc

import (
	"context"
	"strings"
	"sync"
)

// Document is what a customer submits for eKYC: an identity document and the details printed on
// it. A real provider reads the document's IC chip and compares a live selfie (the "ho" and
// "wa" methods of Japan's Act on Prevention of Transfer of Criminal Proceeds); what it returns is
// the verified identity, which may differ from what was typed.
type Document struct {
	Type      string `json:"type"`       // my_number_card, drivers_licence, residence_card, passport
	Number    string `json:"number"`     // the document's number
	NameKanji string `json:"name_kanji"` // legal name as printed, e.g. 山田 太郎
	NameKana  string `json:"name_kana"`  // its reading in katakana, e.g. ヤマダ タロウ
	BirthDate string `json:"birth_date"` // YYYY-MM-DD
}

// Identity is a verified identity, as the provider vouches for it.
type Identity struct {
	NameKanji    string `json:"name_kanji"`
	NameKana     string `json:"name_kana"`
	BirthDate    string `json:"birth_date"`
	DocumentType string `json:"document_type"`
	Provider     string `json:"provider"`
	Reference    string `json:"reference"` // the provider's id of the check, for audits
}

// Provider verifies identity documents. Verify answers a verified identity, ErrRejected (the
// document or the face did not pass), or another error (the provider could not be reached:
// nothing was decided).
type Provider interface {
	Verify(ctx context.Context, d Document) (Identity, error)
	// Simulated reports whether the provider only pretends (production refuses it).
	Simulated() bool
}

// Rejected is the error of a document the provider did not accept.
type Rejected struct{ Reason string }

func (r *Rejected) Error() string { return "ekyc rejected: " + r.Reason }

// SimProvider is the simulated eKYC provider of development mode and tests: a test document is
// verified as it is given, unless its number starts with "REJECT", the provider was told to
// reject that number, or to reject everything.
type SimProvider struct {
	mu        sync.Mutex
	rejectAll bool
	reject    map[string]bool
	checks    int
}

// Reject makes the provider reject the document with this number (all documents if number is "").
func (p *SimProvider) Reject(number string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if number == "" {
		p.rejectAll = true
		return
	}
	if p.reject == nil {
		p.reject = map[string]bool{}
	}
	p.reject[number] = true
}

// Verify verifies d as described on SimProvider.
func (p *SimProvider) Verify(_ context.Context, d Document) (Identity, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks++
	if p.rejectAll || p.reject[d.Number] || strings.HasPrefix(d.Number, "REJECT") {
		return Identity{}, &Rejected{Reason: "document_not_verified"}
	}
	return Identity{NameKanji: d.NameKanji, NameKana: d.NameKana, BirthDate: d.BirthDate, DocumentType: d.Type,
		Provider: "simulated", Reference: "sim-" + d.Number}, nil
}

// Checks counts the documents the provider was asked to verify.
func (p *SimProvider) Checks() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checks
}

// Simulated is true.
func (p *SimProvider) Simulated() bool { return true }
