// Package links holds the rules of tracked links that do not depend on
// storage: which requests are link-preview bots and prefetchers (they are
// redirected but never counted as clicks), how UTM parameters are added to a
// destination, and the friendly pages shown instead of a redirect (an
// unknown code; too many unknown codes from one client).
//
// The engine creates links (engine/links.go) and the HTTP API follows them
// (GET /l/{code}); both call into this package.
package links
