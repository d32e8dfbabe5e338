package risk

import (
	"encoding/json"
	"math"
	"strconv"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// Vector is what the rules see of an event: the event itself and the features computed for it
// from what came before it (docs/risk.md lists each with its meaning). Windows are sliding and
// exact to a bucket (see horizons). -1 means unknown where an age or a time since is asked.
type Vector struct {
	Type    string // event type (specs/events.md)
	Amount  int64
	Bank    string
	KYCTier int64
	Hour    int64 // hour of the day in Asia/Tokyo, 0-23
	LoginOK bool
	Factor  string

	WalletAgeHours    int64
	LinkAgeHours      int64 // topup, withdrawal: age of the link used
	SinceTopUpMinutes int64 // since the wallet's last top-up
	SinceLinkMinutes  int64 // since the wallet's last successful bank link
	DrainRatio        float64
	FirstTimePayee    bool // transfer, payment, payee_added: never paid this receiver before
	NewDevice         bool // the wallet never used this device before
	Devices30d        int64
	Payees30d         int64
	LoginFailures     int64 // failed password logins since the last good one
	OTPFailures       int64 // failed second factors since the last good one

	OutCount1m, OutSum1m     int64 // money sent: transfers, payments, withdrawals
	OutCount1h, OutSum1h     int64
	OutCount24h, OutSum24h   int64
	OutCount30d, OutSum30d   int64
	InCount24h, InSum24h     int64 // money received from wallets (and refunds)
	InSum30d                 int64
	TopUpCount1h, TopUpSum1h int64 // top-ups from banks
	TopUpCount24h            int64
	TopUpSum24h, TopUpSum30d int64

	AccountTopUpCount24h, AccountTopUpSum24h int64 // the bank account's top-ups, into any wallet
	AccountTopUpSum30d                       int64
	AccountWallets                           int64 // wallets the bank account was linked or topped up to (30 d), this one included

	DeviceWallets, IPWallets int64 // wallets seen on the device, the IP (30 d), this one included
	DeviceCount1h, IPCount1h int64 // events from the device, the IP in the last hour

	ReceiverAgeHours      int64
	ReceiverInCount24h    int64
	ReceiverInSum24h      int64
	ReceiverSenders24h    int64 // distinct wallets that paid the receiver in 24 h
	ReceiverNewSenders24h int64 // of them, wallets or links younger than 7 days
}

// variable is one name rules may use, with its CEL type and how to read it from a Vector.
type variable struct {
	name string
	typ  *cel.Type
	get  func(*Vector) ref.Val
	doc  string
}

func intVar(name, doc string, get func(*Vector) int64) variable {
	return variable{name, cel.IntType, func(v *Vector) ref.Val { return types.Int(get(v)) }, doc}
}

func boolVar(name, doc string, get func(*Vector) bool) variable {
	return variable{name, cel.BoolType, func(v *Vector) ref.Val { return types.Bool(get(v)) }, doc}
}

// Variables are the names a rule's expression may use, in the order docs/risk.md lists them.
var Variables = []variable{
	{"type", cel.StringType, func(v *Vector) ref.Val { return types.String(v.Type) }, "event type: topup, transfer, payment, refund, withdrawal, bank_link, login, wallet_opened, phone_verified, kyc_verified, payee_added, device_change"},
	intVar("amount", "the event's amount (money events), yen", func(v *Vector) int64 { return v.Amount }),
	{"bank", cel.StringType, func(v *Vector) ref.Val { return types.String(v.Bank) }, "the bank's code (bank events)"},
	intVar("kyc_tier", "the wallet's KYC tier (0, 1, 2; -1 unknown)", func(v *Vector) int64 { return v.KYCTier }),
	intVar("hour", "hour of the day in Asia/Tokyo, 0-23", func(v *Vector) int64 { return v.Hour }),
	boolVar("ok", "login, bank_link: whether it succeeded", func(v *Vector) bool { return v.LoginOK }),
	{"factor", cel.StringType, func(v *Vector) ref.Val { return types.String(v.Factor) }, "login: password, totp, passkey, sms"},
	intVar("wallet_age_hours", "hours since the wallet was opened (-1 unknown)", func(v *Vector) int64 { return v.WalletAgeHours }),
	intVar("link_age_hours", "topup, withdrawal: hours since the bank link used was made (-1 unknown)", func(v *Vector) int64 { return v.LinkAgeHours }),
	intVar("since_topup_minutes", "minutes since the wallet's last top-up (-1 never)", func(v *Vector) int64 { return v.SinceTopUpMinutes }),
	intVar("since_link_minutes", "minutes since the wallet's last bank link (-1 never)", func(v *Vector) int64 { return v.SinceLinkMinutes }),
	{"drain_ratio", cel.DoubleType, func(v *Vector) ref.Val { return types.Double(v.DrainRatio) }, "money out: the amount over the wallet's available balance before it (1.0: all of it)"},
	boolVar("first_time_payee", "transfer, payment, payee_added: the wallet never paid this receiver", func(v *Vector) bool { return v.FirstTimePayee }),
	boolVar("new_device", "the wallet never used this device before", func(v *Vector) bool { return v.NewDevice }),
	intVar("devices_30d", "devices the wallet used in 30 days", func(v *Vector) int64 { return v.Devices30d }),
	intVar("payees_30d", "receivers the wallet paid in 30 days", func(v *Vector) int64 { return v.Payees30d }),
	intVar("login_failures", "failed password logins since the last good one", func(v *Vector) int64 { return v.LoginFailures }),
	intVar("otp_failures", "failed one-time codes since the last good login", func(v *Vector) int64 { return v.OTPFailures }),
	intVar("out_count_1m", "money sent by the wallet: count, last minute", func(v *Vector) int64 { return v.OutCount1m }),
	intVar("out_sum_1m", "money sent: sum, last minute", func(v *Vector) int64 { return v.OutSum1m }),
	intVar("out_count_1h", "money sent: count, last hour", func(v *Vector) int64 { return v.OutCount1h }),
	intVar("out_sum_1h", "money sent: sum, last hour", func(v *Vector) int64 { return v.OutSum1h }),
	intVar("out_count_24h", "money sent: count, 24 hours", func(v *Vector) int64 { return v.OutCount24h }),
	intVar("out_sum_24h", "money sent: sum, 24 hours", func(v *Vector) int64 { return v.OutSum24h }),
	intVar("out_count_30d", "money sent: count, 30 days", func(v *Vector) int64 { return v.OutCount30d }),
	intVar("out_sum_30d", "money sent: sum, 30 days", func(v *Vector) int64 { return v.OutSum30d }),
	intVar("in_count_24h", "money received from wallets: count, 24 hours", func(v *Vector) int64 { return v.InCount24h }),
	intVar("in_sum_24h", "money received from wallets: sum, 24 hours", func(v *Vector) int64 { return v.InSum24h }),
	intVar("in_sum_30d", "money received from wallets: sum, 30 days", func(v *Vector) int64 { return v.InSum30d }),
	intVar("topup_count_1h", "top-ups into the wallet: count, last hour", func(v *Vector) int64 { return v.TopUpCount1h }),
	intVar("topup_sum_1h", "top-ups: sum, last hour", func(v *Vector) int64 { return v.TopUpSum1h }),
	intVar("topup_count_24h", "top-ups: count, 24 hours", func(v *Vector) int64 { return v.TopUpCount24h }),
	intVar("topup_sum_24h", "top-ups: sum, 24 hours", func(v *Vector) int64 { return v.TopUpSum24h }),
	intVar("topup_sum_30d", "top-ups: sum, 30 days", func(v *Vector) int64 { return v.TopUpSum30d }),
	intVar("account_topup_count_24h", "the bank account's top-ups into any wallet: count, 24 hours", func(v *Vector) int64 { return v.AccountTopUpCount24h }),
	intVar("account_topup_sum_24h", "the bank account's top-ups: sum, 24 hours", func(v *Vector) int64 { return v.AccountTopUpSum24h }),
	intVar("account_topup_sum_30d", "the bank account's top-ups: sum, 30 days", func(v *Vector) int64 { return v.AccountTopUpSum30d }),
	intVar("account_wallets", "wallets the bank account went to in 30 days, this one included", func(v *Vector) int64 { return v.AccountWallets }),
	intVar("device_wallets", "wallets seen on the device in 30 days, this one included", func(v *Vector) int64 { return v.DeviceWallets }),
	intVar("ip_wallets", "wallets seen from the IP in 30 days, this one included", func(v *Vector) int64 { return v.IPWallets }),
	intVar("device_count_1h", "events from the device in the last hour", func(v *Vector) int64 { return v.DeviceCount1h }),
	intVar("ip_count_1h", "events from the IP in the last hour", func(v *Vector) int64 { return v.IPCount1h }),
	intVar("receiver_age_hours", "transfer: hours since the receiving wallet was opened (-1 unknown)", func(v *Vector) int64 { return v.ReceiverAgeHours }),
	intVar("receiver_in_count_24h", "money the receiver got in 24 hours: count", func(v *Vector) int64 { return v.ReceiverInCount24h }),
	intVar("receiver_in_sum_24h", "money the receiver got in 24 hours: sum", func(v *Vector) int64 { return v.ReceiverInSum24h }),
	intVar("receiver_senders_24h", "distinct wallets that paid the receiver in 24 hours", func(v *Vector) int64 { return v.ReceiverSenders24h }),
	intVar("receiver_new_senders_24h", "of them, wallets or bank links younger than 7 days", func(v *Vector) int64 { return v.ReceiverNewSenders24h }),
}

var varIndex = func() map[string]int {
	m := make(map[string]int, len(Variables))
	for i, v := range Variables {
		m[v.name] = i
	}
	return m
}()

// activation lets a CEL program read a Vector without building a map for every event.
type activation struct{ v *Vector }

func (a activation) ResolveName(name string) (any, bool) {
	i, ok := varIndex[name]
	if !ok {
		return nil, false
	}
	return Variables[i].get(a.v), true
}

func (activation) Parent() interpreter.Activation { return nil }

// Map returns the vector as variable name → value (explanations, tests).
func (v *Vector) Map() map[string]any {
	m := make(map[string]any, len(Variables))
	for _, x := range Variables {
		m[x.name] = x.get(v).Value()
	}
	return m
}

// unknownVars are the variables whose "nothing known" value is -1, not 0.
var unknownVars = map[string]bool{"kyc_tier": true, "wallet_age_hours": true, "link_age_hours": true, "since_topup_minutes": true,
	"since_link_minutes": true, "receiver_age_hours": true}

// eventVars are the variables that are the event's own fields (its record says them already).
var eventVars = map[string]bool{"type": true, "amount": true, "bank": true, "kyc_tier": true, "ok": true, "factor": true}

// AppendSummary appends the vector as a JSON object of the features that say something (not 0,
// false, "" or, for ages and times since, -1), in the order of Variables: a decision's inputs
// summary. The event's own fields (type, amount, bank, kyc_tier, ok, factor) are left to its
// record.
func (v *Vector) AppendSummary(b []byte) []byte {
	b = append(b, '{')
	first := true
	for _, x := range Variables {
		if eventVars[x.name] {
			continue
		}
		val := x.get(v)
		var enc []byte
		switch t := val.(type) {
		case types.Int:
			if t == 0 || (t == -1 && unknownVars[x.name]) {
				continue
			}
			enc = strconv.AppendInt(nil, int64(t), 10)
		case types.Double:
			if t == 0 || math.IsNaN(float64(t)) || math.IsInf(float64(t), 0) {
				continue
			}
			enc = strconv.AppendFloat(nil, float64(t), 'g', 6, 64)
		case types.Bool:
			if !t {
				continue
			}
			enc = []byte("true")
		case types.String:
			if t == "" {
				continue
			}
			enc, _ = json.Marshal(string(t))
		default:
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, x.name...)
		b = append(b, '"', ':')
		b = append(b, enc...)
	}
	return append(b, '}')
}

// VariableNames returns the names rules may use, in the order of Variables.
func VariableNames() []string {
	out := make([]string, len(Variables))
	for i, v := range Variables {
		out[i] = v.name
	}
	return out
}
