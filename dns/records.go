package dns

import (
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

// table is an immutable, lookup-ready form of a record set. Keys are
// lower-case fully qualified names.
type table struct {
	names map[string]*entry   // "web." and "web.<domain>." → addresses
	ptr   map[string][]string // reverse name → PTR targets ("web.<domain>.")
}

// entry holds the addresses a name resolves to.
type entry struct {
	v4, v6 []netip.Addr
}

// buildTable indexes records. Names that are not valid domain names and
// addresses that are not valid are skipped (and reported as skipped).
func buildTable(records []Record, domain string) (t *table, skipped []string) {
	t = &table{names: map[string]*entry{}, ptr: map[string][]string{}}
	for _, r := range records {
		var v4, v6 []netip.Addr
		for _, a := range r.Addrs {
			if !a.IsValid() {
				continue
			}
			a = a.Unmap().WithZone("")
			if a.Is4() {
				v4 = append(v4, a)
			} else {
				v6 = append(v6, a)
			}
		}
		for i, n := range append([]string{r.Name}, r.Aliases...) {
			n = strings.Trim(n, ".")
			if n == "" {
				continue
			}
			keys := []string{mdns.Fqdn(n)}
			if domain != "" {
				keys = append(keys, mdns.Fqdn(n+"."+domain))
			}
			if _, ok := mdns.IsDomainName(keys[len(keys)-1]); !ok {
				skipped = append(skipped, n)
				continue
			}
			for _, k := range keys {
				k = strings.ToLower(k)
				e := t.names[k]
				if e == nil {
					e = &entry{}
					t.names[k] = e
				}
				e.v4 = appendNew(e.v4, v4...)
				e.v6 = appendNew(e.v6, v6...)
			}
			if i == 0 { // the endpoint name, not an alias: PTR target
				target := keys[len(keys)-1]
				for _, a := range slices.Concat(v4, v6) {
					rev, err := mdns.ReverseAddr(a.String())
					if err != nil {
						continue
					}
					rev = strings.ToLower(rev)
					t.ptr[rev] = appendNew(t.ptr[rev], target)
				}
			}
		}
	}
	return t, skipped
}

// appendNew appends the elements of add that s does not hold yet.
func appendNew[T comparable](s []T, add ...T) []T {
	for _, x := range add {
		if !slices.Contains(s, x) {
			s = append(s, x)
		}
	}
	return s
}

// answer fills reply for question q from the table. It reports false when
// the name is not in the table (the caller decides between NXDOMAIN and
// forwarding). A known name without records of the asked type leaves the
// answer empty (NODATA).
func (t *table) answer(reply *mdns.Msg, q mdns.Question, ttl uint32) bool {
	name := strings.ToLower(q.Name)
	hdr := func(rrtype uint16) mdns.RR_Header {
		return mdns.RR_Header{Name: q.Name, Rrtype: rrtype, Class: mdns.ClassINET, Ttl: ttl}
	}
	if e, ok := t.names[name]; ok {
		if q.Qtype == mdns.TypeA || q.Qtype == mdns.TypeANY {
			for _, a := range e.v4 {
				reply.Answer = append(reply.Answer, &mdns.A{Hdr: hdr(mdns.TypeA), A: a.AsSlice()})
			}
		}
		if q.Qtype == mdns.TypeAAAA || q.Qtype == mdns.TypeANY {
			for _, a := range e.v6 {
				reply.Answer = append(reply.Answer, &mdns.AAAA{Hdr: hdr(mdns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
		return true
	}
	if targets, ok := t.ptr[name]; ok {
		if q.Qtype == mdns.TypePTR || q.Qtype == mdns.TypeANY {
			for _, tg := range targets {
				reply.Answer = append(reply.Answer, &mdns.PTR{Hdr: hdr(mdns.TypePTR), Ptr: tg})
			}
		}
		return true
	}
	return false
}

// inDomain reports whether the lower-case FQDN name lies strictly under
// domain (the apex itself is not "in" the domain).
func inDomain(name, domain string) bool {
	if domain == "" {
		return false
	}
	suffix := "." + domain + "."
	return len(name) > len(suffix) && strings.HasSuffix(name, suffix)
}
