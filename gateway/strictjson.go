package gateway

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// strictJSON accepts exactly one JSON value in valid UTF-8, with no repeated object member and
// nothing but white space after it: what a strict client sends, and what protojson and
// encoding/json would otherwise each read differently.
//
// It scans the bytes once, allocating nothing for a body it accepts (encoding/json's token API,
// which it replaces, allocated several times per scalar and per member). The grammar is RFC
// 8259's, as encoding/json reads it; member names are compared decoded ("a" and "\u0061" are one
// member), and a refusal names the member or element it is about.
func strictJSON(body []byte) (errs.FieldViolation, bool) {
	if !utf8.Valid(body) {
		return errs.FieldViolation{Field: "body", Description: "is not valid UTF-8"}, false
	}
	var stack [16]jsonPath
	s := jsonScan{b: body, path: stack[:0]}
	s.space()
	if field, ok := s.value(); !ok {
		return errs.FieldViolation{Field: field, Description: "is not well-formed JSON"}, false
	} else if field != "" {
		return errs.FieldViolation{Field: field, Description: "appears more than once"}, false
	}
	if s.space(); s.i < len(s.b) {
		return errs.FieldViolation{Field: "body", Description: "has content after the JSON value"}, false
	}
	return errs.FieldViolation{}, true
}

// maxJSONDepth is encoding/json's nesting limit: deeper bodies are refused, as it refuses them.
// Nesting is counted by the path (one step per open object or array around a value).
const maxJSONDepth = 10000

// jsonScan is a cursor over a body already known to be valid UTF-8.
type jsonScan struct {
	b []byte
	i int
	// path is where the value being read sits, one step per level (its depth is len(path)); it
	// is rendered only when a refusal names it.
	path []jsonPath
}

// jsonPath is one step of a path: a member (its raw name, escapes and all) or an element.
type jsonPath struct {
	name   []byte
	index  int
	member bool
}

// field renders the first n steps of the path as the problem's field: "body", `order_id`,
// `lines[0].quantity`.
func (s *jsonScan) field(n int) string {
	var at string
	for _, p := range s.path[:n] {
		if p.member {
			at = joinField(at, decodeName(p.name))
		} else {
			at += "[" + strconv.Itoa(p.index) + "]"
		}
	}
	if at == "" {
		return "body" // the whole body, or a member named "" at the top, as the token walk said
	}
	return at
}

// here is the field of the value being read.
func (s *jsonScan) here() string { return s.field(len(s.path)) }

// decodeName is a member name as a client means it: raw bytes without escapes, else decoded.
func decodeName(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var s string
	_ = json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) // raw was scanned as a valid string
	return s
}

func (s *jsonScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value reads one value at the end of the path (the scan is at its first byte). Like the token
// walk before it, it reports false with the field of what is malformed, or true with the field
// of a repeated member.
func (s *jsonScan) value() (string, bool) {
	if s.i >= len(s.b) {
		return s.here(), false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		if _, ok := s.str(); !ok {
			return s.here(), false
		}
	case c == '-' || c >= '0' && c <= '9':
		if !s.number() {
			return s.here(), false
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.here(), false
	}
	return "", true
}

func (s *jsonScan) literal(word string) (string, bool) {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.here(), false
	}
	s.i += len(word)
	return "", true
}

// smallObject is how many member names are compared pairwise before a map is worth building.
const smallObject = 16

func (s *jsonScan) object() (string, bool) {
	at := len(s.path)
	if at >= maxJSONDepth {
		return s.here(), false
	}
	s.i++ // {
	var small [smallObject][]byte
	names := small[:0]
	var seen map[string]bool // decoded names, once the object has more than smallObject members
	for first := true; ; first = false {
		s.space()
		if s.i >= len(s.b) {
			return s.field(at), false
		}
		if s.b[s.i] == '}' && first {
			s.i++
			return "", true
		}
		if s.b[s.i] != '"' {
			return s.field(at), false
		}
		raw, ok := s.str()
		if !ok {
			return s.field(at), false
		}
		s.path = append(s.path, jsonPath{name: raw, member: true})
		if repeated(raw, names, &seen) {
			return s.here(), true
		}
		if seen == nil {
			names = append(names, raw)
		}
		if s.space(); s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.field(at), false
		}
		s.i++
		s.space()
		if field, ok := s.value(); !ok || field != "" {
			return field, ok
		}
		s.path = s.path[:at]
		if s.space(); s.i >= len(s.b) {
			return s.field(at), false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return "", true
		default:
			return s.field(at), false
		}
	}
}

// repeated reports whether the member name raw was seen before in this object: pairwise among
// the first smallObject names, then in a map of decoded names (built once, from names).
func repeated(raw []byte, names [][]byte, seen *map[string]bool) bool {
	if *seen == nil && len(names) < smallObject {
		escaped := bytes.IndexByte(raw, '\\') >= 0
		for _, n := range names {
			if escaped || bytes.IndexByte(n, '\\') >= 0 {
				if decodeName(n) == decodeName(raw) {
					return true
				}
			} else if bytes.Equal(n, raw) {
				return true
			}
		}
		return false
	}
	if *seen == nil {
		*seen = make(map[string]bool, 2*len(names))
		for _, n := range names {
			(*seen)[decodeName(n)] = true
		}
	}
	name := decodeName(raw)
	if (*seen)[name] {
		return true
	}
	(*seen)[name] = true
	return false
}

func (s *jsonScan) array() (string, bool) {
	at := len(s.path)
	if at >= maxJSONDepth {
		return s.here(), false
	}
	s.i++ // [
	for i := 0; ; i++ {
		s.space()
		if s.i >= len(s.b) {
			return s.field(at), false
		}
		if s.b[s.i] == ']' {
			if i > 0 { // `[1,]`: a separator with no element after it
				return s.field(at), false
			}
			s.i++
			return "", true
		}
		s.path = append(s.path, jsonPath{index: i})
		if field, ok := s.value(); !ok || field != "" {
			return field, ok
		}
		s.path = s.path[:at]
		if s.space(); s.i >= len(s.b) {
			return s.field(at), false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return "", true
		default:
			return s.field(at), false
		}
	}
}

// str reads a string literal (the scan is at its opening quote) and returns its raw contents:
// no control characters, only JSON's escapes.
func (s *jsonScan) str() ([]byte, bool) {
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			return raw, true
		case c < 0x20:
			return nil, false
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !hex4(s.b[s.i+2:s.i+6]) {
					return nil, false
				}
				s.i += 6
			default:
				return nil, false
			}
		default:
			s.i++
		}
	}
	return nil, false
}

func hex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *jsonScan) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *jsonScan) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}
