package vendorhttp

import (
	"crypto/sha256"
	"encoding/hex"
)

// EventID is the deterministic id of the canonical event a vendor's delivery becomes: 32 hex
// digits of the SHA-256 of vendor and parts, each part after a NUL so that no two lists of
// parts run together into the same input. The shape is that of Retailbridge's random ids. A
// redelivery of the same delivery gets the same id, which the broker drops as a duplicate;
// vendor keeps two vendors' delivery ids apart.
func EventID(vendor string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(vendor))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
