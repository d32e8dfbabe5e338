package money

// AllowLegacyLinks lets links of the 2020 protocol (emoney.LinkLegacy; banklink/legacy.go) move
// money: top-ups from any wallet that holds one, tier 0 included, within its tier's limits and
// nothing else, as in 2020. Only `emoney serve --legacy-linking` (development) calls it, with
// a connector that reaches the banks' legacy endpoint (banklink.LegacyConnector) set by
// SetLinks. Without it such a link is declined (reason legacy_off) before anything is held.
// Call it before serving.
func (b *BankOps) AllowLegacyLinks() { b.legacy = true }
