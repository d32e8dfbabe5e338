package emoney

// Currency is an ISO 4217 code. Amounts are int64 counts of the currency's minor unit
// (JPY has none: ¥1 is 1).
type Currency string

// JPY is the currency emoney runs on today; the ledger keeps a balance per currency.
const JPY Currency = "JPY"

// MaxAmount bounds a single amount so that no sum the ledger forms can overflow int64 in practice
// (10^15 minor units is ¥1,000 trillion).
const MaxAmount int64 = 1_000_000_000_000_000

// Validate checks that c looks like an ISO 4217 code: three upper-case letters.
func (c Currency) Validate() error {
	if len(c) != 3 {
		return FieldError("currency", "currency must be a three-letter ISO 4217 code")
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return FieldError("currency", "currency must be a three-letter ISO 4217 code")
		}
	}
	return nil
}

// ValidateAmount checks that an amount is positive and at most MaxAmount.
func ValidateAmount(field string, amount int64) error {
	if amount <= 0 {
		return FieldError(field, "%s must be positive", field)
	}
	if amount > MaxAmount {
		return FieldError(field, "%s must be at most %d", field, MaxAmount)
	}
	return nil
}
