// Package vendorhttp holds the mechanics every connector needs when it talks HTTP to a vendor
// and that are the same whatever the vendor: reading a Retry-After, reading an answer's body
// within a bound, a log-safe excerpt of an error body, and the deterministic id of a canonical
// event derived from a vendor's delivery. What an answer means (the error kinds a vendor's
// statuses and codes become) stays with each connector, one function per vendor; only the
// mechanism lives here, so that a fix to it reaches every connector at once.
package vendorhttp
