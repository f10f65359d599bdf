package warehouse

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// maxKeyLen bounds an Idempotency-Key.
const maxKeyLen = 255

// errorDoc is the warehouse's error document.
type errorDoc struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Details []fieldDetail `json:"details,omitempty"`
}

type fieldDetail struct {
	Field string `json:"field"`
	Issue string `json:"issue"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, details []fieldDetail) {
	writeJSON(w, status, errorDoc{Error: errorBody{Code: code, Message: msg, Details: details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"Internal error."}}`)
	}
	writeRaw(w, status, buf.Bytes())
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decode reads a JSON body, answering 400 when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "The request body is not valid JSON: "+err.Error(), nil)
		return false
	}
	return true
}

// maxIdempotencyKeys bounds the idempotency keys the warehouse remembers: under a sustained load
// the oldest are forgotten (a create repeated under a forgotten key is still matched by its
// reference, which the warehouse keeps with the object it names).
const maxIdempotencyKeys = 10_000

// idemRec is the first answer given for an idempotency key.
type idemRec struct {
	fingerprint [32]byte
	id          string
}

// fingerprint identifies a create request's content.
func fingerprint(v any) [32]byte {
	b, _ := json.Marshal(v)
	return sha256.Sum256(b)
}

// idempotencyKey reads the optional Idempotency-Key header, answering 422 when it is too long.
func idempotencyKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := r.Header.Get(HeaderIdempotencyKey)
	if len(key) > maxKeyLen {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "The request is invalid.",
			[]fieldDetail{{Field: HeaderIdempotencyKey, Issue: fmt.Sprintf("at most %d characters", maxKeyLen)}})
		return "", false
	}
	return key, true
}

func equalSecret(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
