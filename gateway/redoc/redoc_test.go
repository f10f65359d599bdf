package redoc

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

func TestVendoredBundleIsTheRecordedOne(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256(Standalone)
	if got := hex.EncodeToString(sum[:]); got != SHA256 {
		t.Errorf("sha256(redoc.standalone.js) = %s, want %s: the file changed without its record", got, SHA256)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{SHA256, "| version | " + Version + " "} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not record %q", want)
		}
	}
	if !strings.Contains(string(Standalone), `" ReDoc Version: ","`+Version+`"`) {
		t.Errorf("the bundle does not announce version %s", Version)
	}
}
