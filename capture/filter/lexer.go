package filter

import (
	"fmt"
	"unicode/utf8"
)

// tokKind is the lexical class of a token.
type tokKind uint8

const (
	tkEOF    tokKind = iota
	tkWord           // keyword, number, address, name or port range
	tkLParen         // (
	tkRParen         // )
	tkNot            // "not" or "!"
	tkAnd            // "and" or "&&"
	tkOr             // "or" or "||"
	tkSlash          // "/" between a network and its prefix length
	tkOp             // arithmetic, relational or subscript operator (unsupported)
)

// token is one lexeme of a filter expression; pos is its byte offset.
type token struct {
	kind tokKind
	text string
	pos  int
}

// String quotes the token for error messages.
func (t token) String() string {
	if t.kind == tkEOF {
		return "end of expression"
	}
	return fmt.Sprintf("%q", t.text)
}

// isWordByte reports whether c may appear in a word. Words cover
// keywords, numbers, IPv4/IPv6/MAC addresses, host names and port
// ranges ("1000-2000"), so '.', ':' and '-' are word characters, as in
// libpcap's scanner.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '-'
}

// lex splits expr into tokens, ending with a tkEOF token.
func lex(expr string) ([]token, error) {
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isWordByte(c):
			j := i
			for j < len(expr) && isWordByte(expr[j]) {
				j++
			}
			toks = append(toks, wordToken(expr[i:j], i))
			i = j
			continue
		}
		// Punctuation: try two-byte operators first.
		if i+1 < len(expr) {
			two := expr[i : i+2]
			switch two {
			case "&&":
				toks = append(toks, token{tkAnd, two, i})
				i += 2
				continue
			case "||":
				toks = append(toks, token{tkOr, two, i})
				i += 2
				continue
			case "!=", "==", "<=", ">=", "<<", ">>":
				toks = append(toks, token{tkOp, two, i})
				i += 2
				continue
			}
		}
		switch c {
		case '(':
			toks = append(toks, token{tkLParen, "(", i})
		case ')':
			toks = append(toks, token{tkRParen, ")", i})
		case '!':
			toks = append(toks, token{tkNot, "!", i})
		case '/':
			toks = append(toks, token{tkSlash, "/", i})
		case '[', ']', '=', '<', '>', '&', '|', '+', '*', '%', '^':
			toks = append(toks, token{tkOp, string(c), i})
		default:
			r, _ := utf8.DecodeRuneInString(expr[i:])
			return nil, syntaxErr(i, "unexpected character %q", r)
		}
		i++
	}
	return append(toks, token{tkEOF, "", len(expr)}), nil
}

// wordToken classifies the boolean operator words; everything else is
// a tkWord interpreted by the parser.
func wordToken(w string, pos int) token {
	switch w {
	case "and":
		return token{tkAnd, w, pos}
	case "or":
		return token{tkOr, w, pos}
	case "not":
		return token{tkNot, w, pos}
	}
	return token{tkWord, w, pos}
}
