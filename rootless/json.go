package rootless

import (
	"strings"
)

// A JSON reader with the acceptance rules of the parson version built into
// slirp4netns 1.2.0, so that the API socket accepts and rejects the same
// requests (checked against the real binary): the request is a C string
// (bytes after a NUL are ignored), a UTF-8 BOM is skipped, anything after
// the first value is ignored, duplicate keys and keys containing \u0000
// are errors, raw control characters in strings are errors but invalid
// UTF-8 is not, lone surrogates are errors, numbers follow strtod with
// parson's extra checks ("1." and "-.5" are numbers, "01", "0e5", "-inf"
// and overflowing values are not). Arrays are checked but not kept: the
// API never reads them.

// jsonKind is the type of a JSON value.
type jsonKind int

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonObject
	jsonArray
)

// maxJSONNesting is parson's MAX_NESTING.
const maxJSONNesting = 2048

// jsonValue is a parsed JSON value; only what the API reads is kept.
type jsonValue struct {
	kind jsonKind
	num  float64
	str  string // may hold NUL bytes (from \u0000)
	obj  map[string]*jsonValue
}

// parseJSON parses req. ok is false where parson's json_parse_string
// returns NULL.
func parseJSON(req []byte) (v *jsonValue, ok bool) {
	s := cstr(string(req))
	s = strings.TrimPrefix(s, "\xef\xbb\xbf")
	p := &jsonParser{s: s}
	return p.value(0)
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) && isCSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *jsonParser) value(nesting int) (*jsonValue, bool) {
	if nesting > maxJSONNesting {
		return nil, false
	}
	p.skipSpace()
	switch c := p.peek(); {
	case c == '{':
		return p.object(nesting + 1)
	case c == '[':
		return p.array(nesting + 1)
	case c == '"':
		s, ok := p.string()
		return &jsonValue{kind: jsonString, str: s}, ok
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []struct {
			text string
			v    jsonValue
		}{{"true", jsonValue{kind: jsonBool, num: 1}}, {"false", jsonValue{kind: jsonBool}}, {"null", jsonValue{kind: jsonNull}}} {
			if strings.HasPrefix(p.s[p.i:], lit.text) {
				p.i += len(lit.text)
				v := lit.v
				return &v, true
			}
		}
		return nil, false
	case c == '-' || (c >= '0' && c <= '9'):
		n, ok := p.number()
		return &jsonValue{kind: jsonNumber, num: n}, ok
	}
	return nil, false
}

func (p *jsonParser) object(nesting int) (*jsonValue, bool) {
	v := &jsonValue{kind: jsonObject, obj: map[string]*jsonValue{}}
	p.i++ // '{'
	p.skipSpace()
	if p.peek() == '}' {
		p.i++
		return v, true
	}
	for p.i < len(p.s) {
		if p.peek() != '"' {
			return nil, false
		}
		key, ok := p.string()
		if !ok || strings.IndexByte(key, 0) >= 0 {
			return nil, false
		}
		p.skipSpace()
		if p.peek() != ':' {
			return nil, false
		}
		p.i++
		val, ok := p.value(nesting)
		if !ok {
			return nil, false
		}
		if _, dup := v.obj[key]; dup {
			return nil, false
		}
		v.obj[key] = val
		if !p.comma() {
			break
		}
	}
	if !p.closing('}') {
		return nil, false
	}
	return v, true
}

func (p *jsonParser) array(nesting int) (*jsonValue, bool) {
	p.i++ // '['
	p.skipSpace()
	if p.peek() == ']' {
		p.i++
		return &jsonValue{kind: jsonArray}, true
	}
	for p.i < len(p.s) {
		if _, ok := p.value(nesting); !ok {
			return nil, false
		}
		if !p.comma() {
			break
		}
	}
	if !p.closing(']') {
		return nil, false
	}
	return &jsonValue{kind: jsonArray}, true
}

// comma consumes white space, a ',' and the white space after it; it
// reports false (having consumed only the leading space) when no ','
// follows.
func (p *jsonParser) comma() bool {
	p.skipSpace()
	if p.peek() != ',' {
		return false
	}
	p.i++
	p.skipSpace()
	return true
}

// closing consumes white space and the delimiter c, reporting whether c
// was there.
func (p *jsonParser) closing(c byte) bool {
	p.skipSpace()
	if p.peek() != c {
		return false
	}
	p.i++
	return true
}

// get returns the member name of o, or nil.
func (v *jsonValue) get(name string) *jsonValue {
	if v == nil || v.kind != jsonObject {
		return nil
	}
	return v.obj[name]
}

// getString is parson's json_object_get_string: the member's string as C
// code sees it, ok false when missing or not a string.
func (v *jsonValue) getString(name string) (string, bool) {
	m := v.get(name)
	if m == nil || m.kind != jsonString {
		return "", false
	}
	return cstr(m.str), true
}

// getNumber is parson's json_object_get_number: 0 when missing or not a
// number.
func (v *jsonValue) getNumber(name string) float64 {
	m := v.get(name)
	if m == nil || m.kind != jsonNumber {
		return 0
	}
	return m.num
}
