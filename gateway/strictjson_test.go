package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// strictCases are bodies at the edges of the grammar, with what the check says about them:
// "" accepted, else the field named and whether it is a repeated member.
var strictCases = []struct {
	name, body, field string
	repeated          bool
}{
	{"object", `{"order_id":"1","lines":[{"order_line_id":"l1","quantity":1}]}`, "", false},
	{"every scalar", ` {"a":true,"b":false,"c":null,"d":-0.5e+10,"e":"x\u00e9\n","f":[],"g":{}} `, "", false},
	{"top-level scalar", `12`, "", false},
	{"top-level string", `"s"`, "", false},
	{"repeated member", `{"order_id":"1","order_id":"2"}`, "order_id", true},
	{"repeated through an escape", `{"a":1,"\u0061":2}`, "a", true},
	{"repeated escaped name", `{"a\"b":1,"a\"b":2}`, `a"b`, true},
	{"repeated deep", `{"lines":[{"q":1},{"q":1,"q":2}]}`, "lines[1].q", true},
	{"repeated in a wide object", `{` + wideMembers(40) + `,"m7":0}`, "m7", true},
	{"wide object", `{` + wideMembers(40) + `}`, "", false},
	{"same name in sibling objects", `{"a":{"x":1},"b":{"x":1}}`, "", false},
	{"truncated", `{"order_id":`, "order_id", false},
	{"truncated string", `{"order_id":"12`, "order_id", false},
	{"first byte", `}`, "body", false},
	{"empty", ``, "body", false},
	{"only space", `   `, "body", false},
	{"trailing comma in object", `{"a":1,}`, "body", false},
	{"trailing comma in array", `{"a":[1,]}`, "a", false},
	{"missing colon", `{"a" 1}`, "body", false},
	{"missing comma", `{"a":1 "b":2}`, "body", false},
	{"unquoted name", `{a:1}`, "body", false},
	{"single quotes", `{'a':1}`, "body", false},
	{"bad literal", `{"a":tru}`, "a", false},
	{"bad literal in array", `{"a":[1,nul]}`, "a[1]", false},
	{"plus sign", `{"a":+1}`, "a", false},
	{"bare dot", `{"a":.5}`, "a", false},
	{"dot without digits", `{"a":1.}`, "a", false},
	{"exponent without digits", `{"a":1e}`, "a", false},
	{"minus alone", `{"a":-}`, "a", false},
	{"control character in string", "{\"a\":\"x\ty\"}", "a", false},
	{"bad escape", `{"a":"\x"}`, "a", false},
	{"short unicode escape", `{"a":"\u12"}`, "a", false},
	{"non-hex unicode escape", `{"a":"\u12zz"}`, "a", false},
	{"unclosed object", `{"a":1`, "body", false},
	{"unclosed array", `[1,2`, "body", false},
	{"close mismatch", `{"a":[1}`, "a", false},
}

func wideMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"m` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	return b.String()
}

func TestStrictJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range strictCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, ok := strictJSON([]byte(tt.body))
			if tt.field == "" {
				if !ok {
					t.Fatalf("refused (%s: %s); want accepted", v.Field, v.Description)
				}
				return
			}
			if ok {
				t.Fatalf("accepted; want %s refused", tt.field)
			}
			if v.Field != tt.field || (v.Description == "appears more than once") != tt.repeated {
				t.Errorf("got %s: %s; want %s (repeated %v)", v.Field, v.Description, tt.field, tt.repeated)
			}
			compareWithTokens(t, []byte(tt.body))
		})
	}
}

func TestStrictJSONRefusesContentAfterTheValue(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"a":1} x`, `{"a":1}{}`, `1 2`, `"a" "b"`, `[] ]`, `{} ,`} {
		v, ok := strictJSON([]byte(body))
		if ok || v.Field != "body" {
			t.Errorf("%q: got %v %+v; want body refused", body, ok, v)
		}
	}
	// White space after the value is not content.
	if v, ok := strictJSON([]byte("{\"a\":1} \n\t\r ")); !ok {
		t.Errorf("trailing white space refused: %+v", v)
	}
}

func TestStrictJSONRefusesNestingPastEncodingJSONsLimit(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	if _, ok := strictJSON([]byte(deep)); ok {
		t.Error("nesting past the limit accepted")
	}
	ok := strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)
	if v, accepted := strictJSON([]byte(ok)); !accepted {
		t.Errorf("nesting at the limit refused: %+v", v)
	}
}

// TestStrictJSONAgreesWithTheTokenWalk mutates valid bodies at random (bytes dropped, doubled,
// replaced with JSON's own punctuation) and requires the scanner to refuse exactly what the
// token walk refused, for the same kind of reason, and to accept what it accepted.
func TestStrictJSONAgreesWithTheTokenWalk(t *testing.T) {
	t.Parallel()
	seeds := []string{
		`{"order_id":"5100001","lines":[{"order_line_id":"510000101","quantity":1}]}`,
		`{"a":[1,-2.5e3,true,false,null,"x\u0041\n"],"b":{"c":{"d":[]}},"e":""}`,
		`[{"a":1},{"a":2,"b":[[],{}]}]`,
	}
	punct := []byte(`{}[]:,"\ 0-.eE+tfnu`)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200_000; n++ {
		b := []byte(seeds[n%len(seeds)])
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b = append(b[:i:i], b[i+1:]...)
			case 1:
				b = append(b[:i+1:i+1], b[i:]...)
			default:
				b[i] = punct[rng.IntN(len(punct))]
			}
			if len(b) == 0 {
				break
			}
		}
		compareWithTokens(t, b)
	}
}

func FuzzStrictJSON(f *testing.F) {
	for _, tt := range strictCases {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) { compareWithTokens(t, b) })
}

// compareWithTokens fails t when the scanner and the token walk disagree about b: accepted or
// not, and a repeated member or malformed JSON. The field a malformed body is refused at may
// differ (the scanner names the value or container where the bytes went wrong; the token API
// sometimes reports one level up or down), never the verdict.
func compareWithTokens(t *testing.T, b []byte) {
	t.Helper()
	got, gotOK := strictJSON(b)
	want, wantOK := tokenStrictJSON(b)
	if gotOK != wantOK {
		t.Fatalf("%q: scanner accepted=%v (%+v), token walk accepted=%v (%+v)", b, gotOK, got, wantOK, want)
	}
	gotRepeat, wantRepeat := got.Description == "appears more than once", want.Description == "appears more than once"
	if gotRepeat != wantRepeat || gotRepeat && got.Field != want.Field {
		t.Fatalf("%q: scanner %+v, token walk %+v", b, got, want)
	}
	if want.Description == "is not valid UTF-8" && got != want {
		t.Fatalf("%q: scanner %+v, token walk %+v", b, got, want)
	}
}

func BenchmarkStrictJSON(b *testing.B) {
	body := []byte(`{"order_id":"5100001","lines":[{"order_line_id":"510000101","quantity":1},{"order_line_id":"510000102","quantity":2}]}`)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := strictJSON(body); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("token API (before)", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := tokenStrictJSON(body); !ok {
				b.Fatal("refused")
			}
		}
	})
}

// tokenStrictJSON is the check as it was written with encoding/json's token API, kept as the
// oracle the byte scanner (strictjson.go) is compared with: it must refuse whatever this refused.
func tokenStrictJSON(body []byte) (errs.FieldViolation, bool) {
	if !utf8.Valid(body) {
		return errs.FieldViolation{Field: "body", Description: "is not valid UTF-8"}, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if field, ok := tokenWalk(dec, ""); !ok {
		return errs.FieldViolation{Field: field, Description: "is not well-formed JSON"}, false
	} else if field != "" {
		return errs.FieldViolation{Field: field, Description: "appears more than once"}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.FieldViolation{Field: "body", Description: "has content after the JSON value"}, false
	}
	return errs.FieldViolation{}, true
}

// walkValue reads one value from dec. It reports false (with where) when the JSON is malformed,
// and true with a non-empty field when an object repeats a member.
func tokenWalk(dec *json.Decoder, at string) (string, bool) {
	tok, err := dec.Token()
	if err != nil {
		return tokenBodyField(at), false
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return "", true
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			key, err := dec.Token()
			name, isString := key.(string)
			if err != nil || !isString {
				return tokenBodyField(at), false
			}
			member := joinField(at, name)
			if seen[name] {
				return tokenBodyField(member), true
			}
			seen[name] = true
			if field, ok := tokenWalk(dec, member); !ok || field != "" {
				return field, ok
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if field, ok := tokenWalk(dec, at+"["+strconv.Itoa(i)+"]"); !ok || field != "" {
				return field, ok
			}
		}
	default:
		return tokenBodyField(at), false
	}
	if _, err := dec.Token(); err != nil {
		return tokenBodyField(at), false
	}
	return "", true
}

func tokenBodyField(at string) string {
	if at == "" {
		return "body"
	}
	return at
}
