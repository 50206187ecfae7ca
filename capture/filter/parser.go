package filter

// maxDepth bounds the nesting of parentheses and "not".
const maxDepth = 200

// parser is a recursive-descent parser for pcap-filter expressions that
// mirrors libpcap's grammar: "and" and "or" have equal precedence and
// are left associative, "not" binds tightest, and an id without
// qualifiers inherits the qualifiers of the previous primitive.
type parser struct {
	toks  []token
	i     int
	q     qual // qualifiers inherited by a bare id
	qOK   bool // whether q may be inherited (false after "tcp", "vlan"...)
	vlan  int  // number of "vlan" keywords seen so far
	depth int
}

// parse builds the expression tree; it returns nil for an empty
// expression.
func parse(toks []token) (node, error) {
	p := &parser{toks: toks}
	if p.peek().kind == tkEOF {
		return nil, nil
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.unexpected(t, `"and", "or" or end of expression`)
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

// unexpected reports token t where something else was expected; known
// but unsupported keywords and operators are reported as unsupported.
func (p *parser) unexpected(t token, want string) error {
	switch {
	case t.kind == tkWord && unsupportedWords[t.text]:
		return unsupportedErr(t.pos, "unsupported primitive %q", t.text)
	case t.kind == tkOp:
		return unsupportedErr(t.pos, "unsupported arithmetic or byte-offset expression (operator %q)", t.text)
	}
	return syntaxErr(t.pos, "syntax error: expected %s, found %s", want, t)
}

func (p *parser) enter(t token) error {
	if p.depth++; p.depth > maxDepth {
		return syntaxErr(t.pos, "expression nested deeper than %d levels", maxDepth)
	}
	return nil
}

// expr := unary { ("and"|"or") unary }
func (p *parser) expr() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for k := p.peek().kind; k == tkAnd || k == tkOr; k = p.peek().kind {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &binNode{and: k == tkAnd, l: l, r: r}
	}
	return l, nil
}

// unary := "not" unary | primary
func (p *parser) unary() (node, error) {
	t := p.peek()
	if t.kind != tkNot {
		return p.primary()
	}
	p.next()
	if err := p.enter(t); err != nil {
		return nil, err
	}
	x, err := p.unary()
	p.depth--
	if err != nil {
		return nil, err
	}
	return &notNode{x: x, pos: t.pos}, nil
}

// primary := "(" expr ")" | qualified primitive | bare id
func (p *parser) primary() (node, error) {
	t := p.peek()
	switch t.kind {
	case tkLParen:
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		saved, savedOK := p.q, p.qOK
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkRParen {
			return nil, p.unexpected(c, `")"`)
		}
		p.depth--
		// Like libpcap, a parenthesised expression leaves the
		// qualifiers that were in force before it.
		p.q, p.qOK = saved, savedOK
		return n, nil
	case tkWord:
		return p.wordPrimary()
	}
	return nil, p.unexpected(t, "a primitive")
}

// wordPrimary parses a primitive starting with a word.
func (p *parser) wordPrimary() (node, error) {
	t := p.peek()
	w := t.text
	_, isProto := protoWords[w]
	_, isAddr := addrWords[w]
	switch {
	case isProto || isAddr || w == "src" || w == "dst":
		return p.qualified()
	case w == "vlan":
		return p.vlanPrim()
	case w == "broadcast" || w == "multicast":
		p.next()
		return p.other(t, pDefault, w), nil
	case isKeyword(w):
		return nil, p.unexpected(t, "a primitive")
	case !p.qOK && isName(w):
		return nil, syntaxErr(t.pos, "syntax error: unknown primitive %q", w)
	case !p.qOK:
		return nil, syntaxErr(t.pos, "syntax error: %q needs a qualifier such as \"host\", \"net\" or \"port\"", w)
	}
	return p.id(p.q, t.pos)
}

// other builds a broadcast/multicast primitive.
func (p *parser) other(t token, proto protoQual, w string) node {
	k := primBroadcast
	if w == "multicast" {
		k = primMulticast
	}
	p.qOK = false
	return &primNode{kind: k, pos: t.pos, q: qual{proto: proto}, vlan: p.vlan}
}

// vlanPrim parses "vlan [ID]".
func (p *parser) vlanPrim() (node, error) {
	t := p.next()
	n := &primNode{kind: primVlan, pos: t.pos, vid: -1, vlan: p.vlan}
	if a := p.peek(); a.kind == tkWord && a.text[0] >= '0' && a.text[0] <= '9' {
		p.next()
		v, err := parseNum(a.text, a.pos)
		if err != nil {
			return nil, err
		}
		if v > 4095 {
			return nil, syntaxErr(a.pos, "VLAN ID %d greater than maximum 4095", v)
		}
		n.vid = int(v)
	}
	p.vlan++
	p.qOK = false
	return n, nil
}

// qualified parses [proto] [dir] [type] followed by an id, or a
// protocol alone ("tcp"), or "[proto] broadcast|multicast".
func (p *parser) qualified() (node, error) {
	start := p.peek()
	var q qual
	if pq, ok := protoWords[start.text]; ok {
		q.proto = pq
		p.next()
		a := p.peek()
		switch {
		case a.kind == tkOp && a.text == "[":
			return nil, unsupportedErr(start.pos, "unsupported byte-offset expression %q", start.text+"[...]")
		case a.kind == tkWord && (a.text == "broadcast" || a.text == "multicast"):
			p.next()
			return p.other(start, pq, a.text), nil
		case a.kind == tkWord && (a.text == "proto" || a.text == "protochain"):
			return nil, unsupportedErr(a.pos, "unsupported qualifier %q", start.text+" "+a.text)
		case a.kind != tkWord || !(a.text == "src" || a.text == "dst" || addrWords[a.text] != aDefault):
			p.qOK = false
			return &primNode{kind: primProto, pos: start.pos, q: q, vlan: p.vlan}, nil
		}
	}
	if w := p.peek().text; p.peek().kind == tkWord && (w == "src" || w == "dst") {
		p.next()
		q.dir = dSrc
		if w == "dst" {
			q.dir = dDst
		}
		// "src or dst" / "src and dst" (either order).
		if op, other := p.peek(), p.peekAt(1); (op.kind == tkOr || op.kind == tkAnd) &&
			other.kind == tkWord && (other.text == "src" || other.text == "dst") && other.text != w {
			p.next()
			p.next()
			q.dir = dOr
			if op.kind == tkAnd {
				q.dir = dAnd
			}
		}
	}
	if a := p.peek(); a.kind == tkWord {
		if aq, ok := addrWords[a.text]; ok {
			q.addr = aq
			p.next()
		} else if a.text == "gateway" || a.text == "proto" || a.text == "protochain" {
			return nil, unsupportedErr(a.pos, "unsupported qualifier %q", a.text)
		}
	}
	var n node
	var err error
	if p.peek().kind == tkLParen {
		n, err = p.idExpr(q)
	} else {
		n, err = p.id(q, start.pos)
	}
	if err != nil {
		return nil, err
	}
	p.q, p.qOK = q, true
	return n, nil
}
