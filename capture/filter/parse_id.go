package filter

// id parses one id with its optional "/len" or "mask M" suffix.
func (p *parser) id(q qual, pos int) (node, error) {
	t := p.peek()
	if t.kind != tkWord || isKeyword(t.text) {
		return nil, p.unexpected(t, "an address, number or name")
	}
	p.next()
	n := &primNode{kind: primID, pos: pos, q: q, id: t.text, idPos: t.pos, vlan: p.vlan}
	if s := p.peek(); s.kind == tkSlash || s.kind == tkWord && s.text == "mask" {
		p.next()
		m := p.next()
		if m.kind != tkWord {
			return nil, p.unexpected(m, "a prefix length or netmask")
		}
		n.hasMask, n.slash, n.mask, n.maskPos = true, s.kind == tkSlash, m.text, m.pos
	}
	return n, nil
}

// idExpr parses a parenthesised list of ids that all share the
// qualifiers q, e.g. "host (a or b and not c)".
func (p *parser) idExpr(q qual) (node, error) {
	l, err := p.idUnary(q)
	if err != nil {
		return nil, err
	}
	for k := p.peek().kind; k == tkAnd || k == tkOr; k = p.peek().kind {
		p.next()
		r, err := p.idUnary(q)
		if err != nil {
			return nil, err
		}
		l = &binNode{and: k == tkAnd, l: l, r: r}
	}
	return l, nil
}

// idUnary := "not" idUnary | "(" idExpr ")" | id
func (p *parser) idUnary(q qual) (node, error) {
	t := p.peek()
	switch t.kind {
	case tkNot, tkLParen:
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if t.kind == tkNot {
			x, err := p.idUnary(q)
			if err != nil {
				return nil, err
			}
			return &notNode{x: x, pos: t.pos}, nil
		}
		n, err := p.idExpr(q)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkRParen {
			return nil, p.unexpected(c, `")"`)
		}
		return n, nil
	}
	return p.id(q, t.pos)
}
