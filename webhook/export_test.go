package webhook

// Public is public, for the tests.
var Public = public
