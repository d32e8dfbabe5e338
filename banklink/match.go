// Package banklink is the wallet side of linking a bank account (shared/DESIGN.md "Bank
// linking"). This file is step 5, the holder match: the account holder's name and date of birth
// the bank reports, compared with the wallet's eKYC identity.
package banklink

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"emoney"
)

// Outcomes of Match.
const (
	OutcomeLink   = "link"   // the names agree: link the account
	OutcomeReview = "review" // close but not sure: hold the link for an analyst (alert)
	OutcomeRefuse = "refuse" // not the same person: refuse, revoke the bank token, alert, tell the bank
)

// Reasons of a Decision that is not a link.
const (
	ReasonBirthDate  = "birth_date" // a date of birth is missing, malformed or different
	ReasonName       = "name"       // the name score is below the policy's Link threshold
	ReasonThresholds = "thresholds" // the policy's thresholds are invalid: held for review, never linked
)

// Thresholds are a bank policy's match thresholds: a score ≥ Link links, ≥ Review goes to
// review, anything lower is refused.
type Thresholds struct {
	Link   int `json:"link"`
	Review int `json:"review"`
}

// DefaultThresholds is the policy of DESIGN.md: ≥ 90 links, 70–89 review, < 70 refuse.
var DefaultThresholds = Thresholds{Link: 90, Review: 70}

// Validate returns an invalid error naming the field at fault unless 1 ≤ Review ≤ Link ≤ 100.
// Review == Link leaves no review band.
func (t Thresholds) Validate() error {
	switch {
	case t.Link < 1 || t.Link > 100:
		return emoney.FieldError("link", "link threshold must be between 1 and 100")
	case t.Review < 1 || t.Review > t.Link:
		return emoney.FieldError("review", "review threshold must be between 1 and the link threshold")
	}
	return nil
}

// Decision is the result of Match. Reason is "" for a link.
type Decision struct {
	Outcome string `json:"outcome"` // OutcomeLink, OutcomeReview or OutcomeRefuse
	Score   int    `json:"score"`   // MatchScore of the names, 0–100 (0 when the birth date decided)
	Reason  string `json:"reason,omitempty"`
}

// Match decides whether a bank account's holder is the wallet's eKYC identity. Dates of birth
// (YYYY-MM-DD) must be valid and equal, else the outcome is refuse with reason "birth_date"
// whatever the names say; the name score then decides against p. Zero Thresholds mean
// DefaultThresholds; invalid ones fail closed to review with reason "thresholds" (never a link,
// and never a refusal that would revoke an honest customer's consent over a policy typo).
// Safe for concurrent use.
func Match(ekycKana, ekycBirth, bankHolder, bankBirth string, p Thresholds) Decision {
	if !validDate(ekycBirth) || ekycBirth != bankBirth {
		return Decision{Outcome: OutcomeRefuse, Reason: ReasonBirthDate}
	}
	if p == (Thresholds{}) {
		p = DefaultThresholds
	}
	score := MatchScore(ekycKana, bankHolder)
	switch {
	case p.Validate() != nil:
		return Decision{Outcome: OutcomeReview, Score: score, Reason: ReasonThresholds}
	case score >= p.Link:
		return Decision{Outcome: OutcomeLink, Score: score}
	case score >= p.Review:
		return Decision{Outcome: OutcomeReview, Score: score, Reason: ReasonName}
	default:
		return Decision{Outcome: OutcomeRefuse, Score: score, Reason: ReasonName}
	}
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return len(s) == len(time.DateOnly) && err == nil
}

// NormalizeName returns the Zengin-comparable form of a name: the characters a Japanese bank
// holder name (全銀 half-width katakana) can hold, written full-width, with nothing that does
// not tell two names apart. In order:
//
//   - the spacing sound marks ゛゜ become combining ones, then NFKC: half-width katakana become
//     full-width with their ﾞﾟ composed (ｶﾞ → ガ, like カ+U+3099), full-width Latin and digits
//     become ASCII;
//   - hiragana become katakana, small kana large (ァィゥェォッャュョヮヵヶ → アイウエオツヤユヨワカケ,
//     as Zengin writes ｷﾖｳｺ for キョウコ), archaic ヰヱ become イエ, ヷヸヹヺ become ヴア ヴイ ヴエ ヴオ;
//   - the prolonged sound mark (ー, ｰ, and the '-' Zengin writes for it) becomes the vowel it
//     lengthens, with the spelling Japanese names use for long e and o: a→ア i→イ u→ウ e→イ o→ウ
//     (ｻﾄ- and サトー → サトウ); after ン, at the start of a word or after anything but kana it
//     is dropped;
//   - iteration marks repeat the kana before them (ゝヽ), voiced (ゞヾ): みすゞ → ミスズ;
//   - Latin letters are upper-cased, accents dropped (é → E); digits kept;
//   - spaces, punctuation and symbols (・, '.', '(' …) separate words and are dropped, like
//     everything else outside Zengin's set (kanji, other scripts, stray combining marks).
//
// Dakuten and handakuten are kept: ガ ≠ カ, パ ≠ ハ. The result holds only full-width katakana
// ア–ン and ヴ without small kana or ヰヱ, A–Z and 0–9; NormalizeName is idempotent. Safe for
// concurrent use.
func NormalizeName(s string) string {
	var out []rune
	for _, w := range words(s) {
		out = append(out, w...)
	}
	return string(out)
}

// words splits s at spaces, punctuation and symbols and normalises each word (see
// NormalizeName); empty words are left out.
func words(s string) [][]rune {
	s = norm.NFKC.String(spacingMarks.Replace(s))
	var ws [][]rune
	var w []rune
	end := func() {
		if len(w) > 0 {
			ws = append(ws, w)
		}
		w = nil
	}
	for _, r := range s {
		r = toKatakana(r)
		switch {
		case allowed(r):
			w = append(w, r)
		case r >= 'ヷ' && r <= 'ヺ':
			w = append(w, 'ヴ', []rune("アイエオ")[r-'ヷ'])
		case isLongMark(r):
			switch n := len(w); {
			case n > 0 && vowel(w[n-1]) != 0:
				w = append(w, longVowel[vowel(w[n-1])])
			case n > 0 && isKana(w[n-1]): // after ン: nothing to lengthen
			default: // a hyphen between Latin words, or a stray mark
				end()
			}
		case r == 'ヽ' || r == 'ヾ':
			if n := len(w); n > 0 && isKana(w[n-1]) {
				w = append(w, iterate(w[n-1], r == 'ヾ'))
			}
		case r >= 'a' && r <= 'z':
			w = append(w, r-'a'+'A')
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r):
			end()
		case r >= utf8.RuneSelf && unicode.IsLetter(r) && !isKanaBlock(r):
			// A Latin letter with an accent: keep its base letter (É → E).
			if d := []rune(norm.NFKD.String(string(r))); len(d) > 0 && d[0] < utf8.RuneSelf && unicode.IsLetter(d[0]) {
				w = append(w, unicode.ToUpper(d[0]))
			}
		}
	}
	end()
	return ws
}

// Spacing ゛゜ (U+309B/C) NFKC to a space and a combining mark, which then voices nothing: written
// after a kana (カ゛) they mean the combining ones.
var spacingMarks = strings.NewReplacer("\u309b", "\u3099", "\u309c", "\u309a")

// toKatakana maps hiragana to katakana, small kana to large and archaic kana to modern ones.
// Voiced kana stay voiced: the caller has composed them (NFKC).
func toKatakana(r rune) rune {
	if r >= 'ぁ' && r <= 'ゖ' || r == 'ゝ' || r == 'ゞ' {
		r += 'ァ' - 'ぁ'
	}
	if l, ok := large[r]; ok {
		return l
	}
	return r
}

var large = map[rune]rune{
	'ァ': 'ア', 'ィ': 'イ', 'ゥ': 'ウ', 'ェ': 'エ', 'ォ': 'オ', 'ッ': 'ツ', 'ャ': 'ヤ', 'ュ': 'ユ', 'ョ': 'ヨ',
	'ヮ': 'ワ', 'ヵ': 'カ', 'ヶ': 'ケ', 'ヰ': 'イ', 'ヱ': 'エ',
	// Katakana Phonetic Extensions (Ainu small kana).
	'ㇰ': 'ク', 'ㇱ': 'シ', 'ㇲ': 'ス', 'ㇳ': 'ト', 'ㇴ': 'ヌ', 'ㇵ': 'ハ', 'ㇶ': 'ヒ', 'ㇷ': 'フ',
	'ㇸ': 'ヘ', 'ㇹ': 'ホ', 'ㇺ': 'ム', 'ㇻ': 'ラ', 'ㇼ': 'リ', 'ㇽ': 'ル', 'ㇾ': 'レ', 'ㇿ': 'ロ',
}

// allowed reports whether r is in NormalizeName's output alphabet. ヷヸヹヺ are expanded by
// the caller before this is asked (see words).
func allowed(r rune) bool {
	switch {
	case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case isKana(r):
		return true
	}
	return false
}

// isKana reports whether r is a large full-width katakana of the output alphabet.
func isKana(r rune) bool {
	if r < 'ァ' || r > 'ヴ' {
		return false
	}
	_, small := large[r]
	return !small
}

func isKanaBlock(r rune) bool { return r >= 0x3040 && r <= 0x30ff || r >= 0x31f0 && r <= 0x31ff }

func isLongMark(r rune) bool {
	switch r {
	case 'ー', '-', '‐', '‒', '–', '—', '―', '−':
		return true
	}
	return false
}

// vowel returns the vowel (a, i, u, e, o) of a large katakana, 0 for ン and anything else.
func vowel(r rune) rune {
	return vowels[unvoiced(r)]
}

var vowels = func() map[rune]rune {
	m := map[rune]rune{}
	for v, row := range map[rune]string{
		'a': "アカサタナハマヤラワ", 'i': "イキシチニヒミリ", 'u': "ウクスツヌフムユル",
		'e': "エケセテネヘメレ", 'o': "オコソトノホモヨロヲ",
	} {
		for _, r := range row {
			m[r] = v
		}
	}
	return m
}()

var longVowel = map[rune]rune{'a': 'ア', 'i': 'イ', 'u': 'ウ', 'e': 'イ', 'o': 'ウ'}

// unvoiced strips dakuten/handakuten: ガ → カ, パ → ハ, ヴ → ウ.
func unvoiced(r rune) rune {
	if d, _ := utf8.DecodeRuneInString(norm.NFD.String(string(r))); d != utf8.RuneError {
		return d
	}
	return r
}

// iterate is the kana an iteration mark after r stands for: r unvoiced, or voiced when the
// mark is (ヾ) and r has a voiced form.
func iterate(r rune, voiced bool) rune {
	base := unvoiced(r)
	if !voiced {
		return base
	}
	if v := []rune(norm.NFC.String(string(base) + "\u3099")); len(v) == 1 && isKana(v[0]) {
		return v[0]
	}
	return base
}

// maxRunes bounds the normalised names MatchScore compares (the distance is quadratic): Zengin
// holder names have at most 48 characters and eKYC readings at most 50. maxWords bounds the
// words tried as an extra (middle) name.
const (
	maxRunes = 64
	maxWords = 6
)

// MatchScore scores how alike two names are, 0 (nothing in common, or either empty after
// normalisation) to 100 (equal after NormalizeName). It is 100 × (1 − d / n), rounded down,
// where n is the longer name's length in characters and d an edit distance between them:
//
//   - inserting, deleting or substituting a character costs 1;
//   - substituting a spelling variant of the same sound costs ½: ヂ/ジ and ヅ/ズ (yotsugana,
//     both spellings are in use for the same names), and オ/ウ after an o-row kana or エ/イ after
//     an e-row one (a long vowel: オオノ/オウノ, ｵｰﾉ);
//   - the words may be in either order (family and given name swapped scores as if not);
//   - when one name has at least three words, leaving one whole word out (a middle name the
//     other side does not record) costs ½ per character instead of 1.
//
// The best (lowest) distance over these readings counts. A score of 100 therefore means equal
// normalised names (up to word order); a single wrong character in a six-character name gives
// 83, a changed family name around 50. No transliteration is attempted: a Latin name against
// its katakana reading (JOHN SMITH / ｼﾞﾖﾝ ｽﾐｽ) scores near 0. Safe for concurrent use.
func MatchScore(ekycKana, bankHolder string) int {
	a, b := truncate(words(ekycKana)), truncate(words(bankHolder))
	n := max(length(a), length(b))
	if length(a) == 0 || length(b) == 0 {
		return 0
	}
	best := 2 * n // distances in half units
	try := func(x, y [][]rune, penalty int) {
		if d := distance(join(x), join(y)) + penalty; d < best {
			best = d
		}
	}
	orders := [][][]rune{a}
	if len(a) > 1 {
		orders = append(orders, reversed(a))
	}
	for _, x := range orders {
		try(x, b, 0)
		if len(x) >= 3 && len(x) <= maxWords {
			for i := range x {
				try(without(x, i), b, len(x[i]))
			}
		}
		if len(b) >= 3 && len(b) <= maxWords {
			for i := range b {
				try(x, without(b, i), len(b[i]))
			}
		}
	}
	return 100 * (2*n - best) / (2 * n)
}

// distance is the edit distance of MatchScore in half units.
func distance(x, y []rune) int {
	prev, cur := make([]int, len(y)+1), make([]int, len(y)+1)
	for j := range prev {
		prev[j] = 2 * j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = 2 * i
		for j := 1; j <= len(y); j++ {
			sub := prev[j-1] + substitution(x, y, i-1, j-1)
			cur[j] = min(sub, prev[j]+2, cur[j-1]+2)
		}
		prev, cur = cur, prev
	}
	return prev[len(y)]
}

// substitution is the cost in half units of x[i] in place of y[j].
func substitution(x, y []rune, i, j int) int {
	p, q := x[i], y[j]
	switch {
	case p == q:
		return 0
	case pair(p, q, 'ヂ', 'ジ'), pair(p, q, 'ヅ', 'ズ'):
		return 1
	case i > 0 && j > 0 && pair(p, q, 'オ', 'ウ') && vowel(x[i-1]) == 'o' && vowel(y[j-1]) == 'o':
		return 1
	case i > 0 && j > 0 && pair(p, q, 'エ', 'イ') && vowel(x[i-1]) == 'e' && vowel(y[j-1]) == 'e':
		return 1
	}
	return 2
}

func pair(p, q, r, s rune) bool { return p == r && q == s || p == s && q == r }

func length(ws [][]rune) int {
	n := 0
	for _, w := range ws {
		n += len(w)
	}
	return n
}

func join(ws [][]rune) []rune {
	out := make([]rune, 0, length(ws))
	for _, w := range ws {
		out = append(out, w...)
	}
	return out
}

func reversed(ws [][]rune) [][]rune {
	out := make([][]rune, len(ws))
	for i, w := range ws {
		out[len(ws)-1-i] = w
	}
	return out
}

func without(ws [][]rune, i int) [][]rune {
	return append(append(make([][]rune, 0, len(ws)-1), ws[:i]...), ws[i+1:]...)
}

// truncate keeps the first maxRunes characters of a name.
func truncate(ws [][]rune) [][]rune {
	n := 0
	for i, w := range ws {
		if n+len(w) > maxRunes {
			if rest := maxRunes - n; rest > 0 {
				return append(ws[:i:i], w[:rest])
			}
			return ws[:i]
		}
		n += len(w)
	}
	return ws
}
