package rootless

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// string reads a quoted string at p.i.
func (p *jsonParser) string() (string, bool) {
	p.i++ // '"'
	var b []byte
	for {
		if p.i >= len(p.s) {
			return "", false
		}
		c := p.s[p.i]
		p.i++
		switch {
		case c == '"':
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			continue
		}
		if p.i >= len(p.s) {
			return "", false
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := p.utf16()
			if !ok {
				return "", false
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
	}
}

// utf16 reads the 4 hex digits after \u, and a second \uXXXX after a lead
// surrogate.
func (p *jsonParser) utf16() (rune, bool) {
	cp, ok := p.hex4()
	if !ok {
		return 0, false
	}
	switch {
	case cp < 0xd800 || cp > 0xdfff:
		return rune(cp), true
	case cp > 0xdbff: // trail surrogate first
		return 0, false
	}
	if !strings.HasPrefix(p.s[p.i:], `\u`) {
		return 0, false
	}
	p.i += 2
	trail, ok := p.hex4()
	if !ok || trail < 0xdc00 || trail > 0xdfff {
		return 0, false
	}
	return rune(((cp-0xd800)&0x3ff)<<10|(trail-0xdc00)&0x3ff) + 0x10000, true
}

func (p *jsonParser) hex4() (uint32, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	var v uint32
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		d := hexVal(c)
		if d < 0 {
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	p.i += 4
	return v, true
}

// number reads a number like parson: strtod, then its is_decimal check,
// then a finite value. When strtod converts nothing the value is 0 and
// nothing is consumed, as in parson (the caller then trips on the
// character).
func (p *jsonParser) number() (float64, bool) {
	s, start := p.s, p.i
	i := start
	if s[i] == '-' {
		i++
	}
	rest := strings.ToLower(s[i:])
	if strings.HasPrefix(rest, "inf") || strings.HasPrefix(rest, "nan") {
		return 0, false // infinite or NaN: rejected by parson
	}
	if strings.HasPrefix(rest, "0x") && len(rest) > 2 && (hexVal(rest[2]) >= 0 || rest[2] == '.' && len(rest) > 3 && hexVal(rest[3]) >= 0) {
		return 0, false // a hexadecimal float: is_decimal rejects the 'x'
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, true // no conversion
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	span := s[start:i]
	if len(span) > 1 && span[0] == '0' && span[1] != '.' {
		return 0, false
	}
	if len(span) > 2 && strings.HasPrefix(span, "-0") && span[2] != '.' {
		return 0, false
	}
	f, err := strconv.ParseFloat(span, 64)
	if math.IsInf(f, 0) || math.IsNaN(f) || (err != nil && f != 0) {
		return 0, false
	}
	p.i = i
	return f, true
}
