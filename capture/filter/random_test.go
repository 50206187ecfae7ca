package filter

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
)

// This file cross-checks compiled programs against a reference
// evaluator that works on the frame description rather than its bytes:
// random expressions over random frames must agree.

var (
	poolIP4  = []string{"10.0.0.1", "10.0.0.2", "10.1.2.3", "192.168.1.1", "224.0.0.251", "172.16.5.4"}
	poolIP6  = []string{"2001:db8::1", "2001:db8::2", "fe80::1", "ff02::1"}
	poolPort = []uint16{53, 80, 443, 1234, 8080, 5353}
	poolSrc  = []string{"02:00:00:00:00:01", "02:00:00:00:00:aa"}
	poolDst  = []string{"02:00:00:00:00:02", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb", "33:33:00:00:00:01"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

// randFrame returns a random, well-formed frame description.
func randFrame(r *rand.Rand) frameSpec {
	s := frameSpec{srcMAC: pick(r, poolSrc), dstMAC: pick(r, poolDst)}
	if r.Intn(5) == 0 {
		s.vlans = []uint16{pick(r, []uint16{100, 200})}
	}
	switch n := r.Intn(20); {
	case n < 10:
		s.kind, s.src, s.dst = "ip4", pick(r, poolIP4), pick(r, poolIP4)
		s.proto = pick(r, []uint8{6, 17, 132, 1, 47})
		s.ipOpts = r.Intn(3) == 0
		if s.proto == 6 || s.proto == 17 {
			s.frag = pick(r, []int{0, 0, 0, 1, 2})
		}
	case n < 15:
		s.kind, s.src, s.dst = "ip6", pick(r, poolIP6), pick(r, poolIP6)
		s.proto = pick(r, []uint8{6, 17, 58})
		if s.proto != 58 && r.Intn(4) == 0 {
			s.frag = 1
		}
	case n < 17:
		s.kind, s.src, s.dst = "arp", pick(r, poolIP4), pick(r, poolIP4)
	case n < 18:
		s.kind, s.src, s.dst = "rarp", pick(r, poolIP4), pick(r, poolIP4)
	default:
		s.kind, s.etherType = "raw", 0x88b5
	}
	s.sport, s.dport = pick(r, poolPort), pick(r, poolPort)
	return s
}

// refFn evaluates an expression on a frame description.
type refFn func(s frameSpec) bool

func l3(s frameSpec, kind string) bool { return len(s.vlans) == 0 && s.kind == kind }

func inPrefix(addr, prefix string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && netip.MustParsePrefix(prefix).Contains(a)
}

// hostRef matches an address (or prefix) against IP or ARP/RARP
// source/destination per dir ("", "src", "dst").
func hostRef(dir string, match func(string) bool) refFn {
	return func(s frameSpec) bool {
		if len(s.vlans) > 0 || s.kind == "raw" {
			return false
		}
		src, dst := match(s.src), match(s.dst)
		switch dir {
		case "src":
			return src
		case "dst":
			return dst
		}
		return src || dst
	}
}

// portRef matches a port predicate like libpcap: IPv4 non-fragments or
// first fragments, IPv6 without extension headers.
func portRef(protos []uint8, dir string, match func(uint16) bool) refFn {
	return func(s frameSpec) bool {
		if len(s.vlans) > 0 || !(s.kind == "ip4" && s.frag != 2 || s.kind == "ip6" && s.frag == 0) {
			return false
		}
		ok := false
		for _, p := range protos {
			ok = ok || p == s.proto
		}
		src, dst := match(s.sport), match(s.dport)
		switch dir {
		case "src":
			return ok && src
		case "dst":
			return ok && dst
		}
		return ok && (src || dst)
	}
}

func eq[T comparable](v T) func(T) bool { return func(x T) bool { return x == v } }

// randAtom returns a random primitive and its reference.
func randAtom(r *rand.Rand) (string, refFn) {
	dir := pick(r, []string{"", "src", "dst"})
	sp := func(s string) string {
		if dir == "" {
			return s
		}
		return dir + " " + s
	}
	all := []uint8{6, 17, 132}
	switch r.Intn(16) {
	case 0:
		p := pick(r, []string{"ip", "ip6", "arp", "rarp"})
		kind := map[string]string{"ip": "ip4", "ip6": "ip6", "arp": "arp", "rarp": "rarp"}[p]
		return p, func(s frameSpec) bool { return l3(s, kind) }
	case 1:
		p := pick(r, []string{"tcp", "udp", "sctp", "icmp", "icmp6"})
		num := map[string]uint8{"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmp6": 58}[p]
		return p, func(s frameSpec) bool {
			return (l3(s, "ip4") && p != "icmp6" || l3(s, "ip6") && p != "icmp") && s.proto == num
		}
	case 2, 3:
		a := pick(r, append(poolIP4, poolIP6...))
		return sp("host " + a), hostRef(dir, func(x string) bool { return x == a })
	case 4:
		n := pick(r, []string{"10.0.0.0/8", "10.0.0.0/16", "192.168.0.0/16", "2001:db8::/32", "fe80::/10", "224.0.0.0/4"})
		return sp("net " + n), hostRef(dir, func(x string) bool { return inPrefix(x, n) })
	case 5:
		// Implicit repetition of the qualifiers.
		a, b := pick(r, poolIP4), pick(r, poolIP4)
		return sp("host "+a) + " or " + b, hostRef(dir, func(x string) bool { return x == a || x == b })
	case 6, 7:
		p := pick(r, poolPort)
		return sp(fmt.Sprintf("port %d", p)), portRef(all, dir, eq(p))
	case 8:
		proto := pick(r, []string{"tcp", "udp"})
		num := map[string]uint8{"tcp": 6, "udp": 17}[proto]
		p, q := pick(r, poolPort), pick(r, poolPort)
		return fmt.Sprintf("%s %s or %d", proto, sp(fmt.Sprintf("port %d", p)), q),
			portRef([]uint8{num}, dir, func(x uint16) bool { return x == p || x == q })
	case 9:
		return sp("portrange 1000-6000"), portRef(all, dir, func(x uint16) bool { return x >= 1000 && x <= 6000 })
	case 10:
		m := pick(r, append(poolSrc, poolDst...))
		e := "ether host " + m
		if dir != "" {
			e = "ether " + dir + " " + m
		}
		return e, func(s frameSpec) bool {
			switch dir {
			case "src":
				return s.srcMAC == m
			case "dst":
				return s.dstMAC == m
			}
			return s.srcMAC == m || s.dstMAC == m
		}
	case 11:
		return "broadcast", func(s frameSpec) bool { return s.dstMAC == "ff:ff:ff:ff:ff:ff" }
	case 12:
		return "multicast", func(s frameSpec) bool { return s.dstMAC != poolDst[0] }
	case 13:
		return "ip multicast", func(s frameSpec) bool { return l3(s, "ip4") && inPrefix(s.dst, "224.0.0.0/3") }
	case 14:
		return "ip6 multicast", func(s frameSpec) bool { return l3(s, "ip6") && inPrefix(s.dst, "ff00::/8") }
	}
	return "ip and not ip", func(frameSpec) bool { return false }
}

// randExpr returns a random fully parenthesised expression.
func randExpr(r *rand.Rand, depth int) (string, refFn) {
	if depth == 0 || r.Intn(3) == 0 {
		return randAtom(r)
	}
	a, fa := randExpr(r, depth-1)
	switch r.Intn(5) {
	case 0:
		return "not (" + a + ")", func(s frameSpec) bool { return !fa(s) }
	case 1, 2:
		b, fb := randExpr(r, depth-1)
		return "(" + a + ") and (" + b + ")", func(s frameSpec) bool { return fa(s) && fb(s) }
	}
	b, fb := randExpr(r, depth-1)
	return "(" + a + ") || (" + b + ")", func(s frameSpec) bool { return fa(s) || fb(s) }
}

// randFlat returns "A op B op C ..." without parentheses: libpcap gives
// and/or equal precedence and left associativity, "not" binds tightest.
func randFlat(r *rand.Rand) (string, refFn) {
	expr, f := randAtom(r)
	if composite(expr) {
		expr = "(" + expr + ")"
	}
	for n := 1 + r.Intn(4); n > 0; n-- {
		b, fb := randAtom(r)
		if composite(b) {
			// A composite atom ("host a or b") must stay one operand.
			b = "(" + b + ")"
		}
		if r.Intn(3) == 0 {
			b, fb = "not "+b, func(fb refFn) refFn { return func(s frameSpec) bool { return !fb(s) } }(fb)
		}
		fa := f
		if r.Intn(2) == 0 {
			expr, f = expr+" and "+b, func(s frameSpec) bool { return fa(s) && fb(s) }
		} else {
			expr, f = expr+" or "+b, func(s frameSpec) bool { return fa(s) || fb(s) }
		}
	}
	return expr, f
}

// composite reports whether an atom is itself a combination.
func composite(s string) bool { return strings.Contains(s, " or ") || strings.Contains(s, " and ") }

func TestRandomAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var specs []frameSpec
	var frames [][]byte
	for i := 0; i < 60; i++ {
		s := randFrame(r)
		specs, frames = append(specs, s), append(frames, build(t, s))
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		var expr string
		var ref refFn
		switch i % 4 {
		case 0, 1:
			expr, ref = randExpr(r, 3)
		case 2:
			expr, ref = randFlat(r)
		default:
			// "vlan [ID] and (E)": E applies to the encapsulated frame.
			e, fe := randExpr(r, 2)
			vid := pick(r, []uint16{0, 100, 200})
			prefix := "vlan"
			if vid != 0 {
				prefix = fmt.Sprintf("vlan %d", vid)
			}
			expr = prefix + " and (" + e + ")"
			ref = func(s frameSpec) bool {
				if len(s.vlans) != 1 || vid != 0 && s.vlans[0] != vid {
					return false
				}
				s.vlans = nil
				return fe(s)
			}
		}
		f, err := Compile(expr)
		if err != nil {
			t.Fatalf("Compile(%q): %v", expr, err)
		}
		for j, s := range specs {
			if got, want := f.Match(frames[j]), ref(s); got != want {
				t.Fatalf("%q on %+v: got %v, want %v\n%s", expr, s, got, want, f.Dump())
			}
		}
	}
}
