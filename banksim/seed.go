package banksim

import "fmt"

// Demo customers for `emoney banksim --seed-customers N` and for tests that want a populated
// bank. Everything but TOTP secrets (random; read them with Customers or GET
// /admin/banks/{code}/customers) follows from the bank and the customer's number, so a demo can
// be replayed from the rules printed by the command.

var (
	seedFamilies = [][2]string{{"山田", "ﾔﾏﾀﾞ"}, {"佐藤", "ｻﾄｳ"}, {"鈴木", "ｽｽﾞｷ"}, {"高橋", "ﾀｶﾊｼ"}, {"田中", "ﾀﾅｶ"},
		{"伊藤", "ｲﾄｳ"}, {"渡辺", "ﾜﾀﾅﾍﾞ"}, {"中村", "ﾅｶﾑﾗ"}, {"小林", "ｺﾊﾞﾔｼ"}, {"加藤", "ｶﾄｳ"}}
	// Given names whose Zengin spelling needs no small kana (Zengin has none: ｼｮｳ is ｼﾖｳ).
	seedGiven = [][2]string{{"太郎", "ﾀﾛｳ"}, {"花子", "ﾊﾅｺ"}, {"一郎", "ｲﾁﾛｳ"}, {"美咲", "ﾐｻｷ"}, {"健太", "ｹﾝﾀ"},
		{"陽子", "ﾖｳｺ"}, {"大輔", "ﾀﾞｲｽｹ"}, {"直美", "ﾅｵﾐ"}, {"誠", "ﾏｺﾄ"}, {"恵", "ﾒｸﾞﾐ"}}
)

// SeededCustomer is one demo customer and the account opened for it.
type SeededCustomer struct {
	Bank       string `json:"bank"`
	LoginID    string `json:"login_id"`    // "demo001", …
	Password   string `json:"password"`    // "pass-<bank>-<NNN>"
	NameKanji  string `json:"name_kanji"`  // e.g. "山田 太郎"
	HolderKana string `json:"holder_kana"` // e.g. "ﾔﾏﾀﾞ ﾀﾛｳ"
	BirthDate  string `json:"birth_date"`
	Phone      string `json:"phone"`
	TOTPSecret string `json:"totp_secret,omitempty"` // odd-numbered customers use an app; even ones get SMS codes
	Account    string `json:"account"`               // "branch-number"
	PIN        string `json:"pin"`                   // legacy PIN: 1000 + NNN
	Balance    int64  `json:"balance"`
}

// SeedPassword is the internet-banking password of demo customer n (1-based) at bank code.
func SeedPassword(code string, n int) string { return fmt.Sprintf("pass-%s-%03d", code, n) }

// Seed adds n demo customers to every bank, each with one account, and returns them bank by bank.
// Names, dates of birth, phones, passwords, PINs and balances are deterministic; TOTP secrets are
// not. Errors: a customer or account that already exists (Seed twice).
func (s *Sim) Seed(n int) ([]SeededCustomer, error) {
	var out []SeededCustomer
	for bi, info := range s.Banks() {
		for i := 1; i <= n; i++ {
			fam, giv := seedFamilies[(i+bi)%len(seedFamilies)], seedGiven[(i*3+bi)%len(seedGiven)]
			sc := SeededCustomer{
				Bank: info.Code, LoginID: fmt.Sprintf("demo%03d", i), Password: SeedPassword(info.Code, i),
				NameKanji: fam[0] + " " + giv[0], HolderKana: fam[1] + " " + giv[1],
				BirthDate: fmt.Sprintf("%04d-%02d-%02d", 1950+(i*7+bi)%50, 1+(i+bi)%12, 1+(i*5)%28),
				Phone:     fmt.Sprintf("+8190%04d%04d", bi, i),
				PIN:       fmt.Sprintf("%04d", 1000+i%9000),
				Balance:   int64(50_000 + (i%10)*100_000),
			}
			c, err := s.AddCustomer(info.Code, NewCustomer{LoginID: sc.LoginID, Password: sc.Password, NameKanji: sc.NameKanji,
				HolderKana: sc.HolderKana, BirthDate: sc.BirthDate, Phone: sc.Phone, TOTP: i%2 == 1})
			if err != nil {
				return nil, err
			}
			sc.TOTPSecret = c.TOTPSecret
			a, err := s.AddAccount(info.Code, sc.LoginID, fmt.Sprintf("%03d", 100+i%5), "", sc.PIN, sc.Balance)
			if err != nil {
				return nil, err
			}
			sc.Account = a.Key()
			out = append(out, sc)
		}
	}
	return out, nil
}
