package filter

import (
	"sort"
	"strings"
	"testing"
)

const (
	setIP4  = "tcp4 udp4 sctp4 icmp4 opts4 frag1 frag2 mcast4 short"
	setIP6  = "tcp6 udp6frag icmp6"
	setTCP  = "tcp4 opts4 tcp6 short"
	setUDP  = "udp4 frag1 frag2 udp6frag mcast4"
	setVLAN = "v100 v200arp qinq"
	// setNet10 is every frame with a 10.x IPv4 (or ARP/RARP) address.
	setNet10 = "tcp4 udp4 sctp4 icmp4 opts4 frag1 frag2 arp rarp mcast4 short"
)

// except returns every test frame not named in the given sets.
func except(sets ...string) string {
	drop := map[string]bool{}
	for _, s := range sets {
		for _, n := range strings.Fields(s) {
			drop[n] = true
		}
	}
	var keep []string
	for _, f := range testFrames {
		if !drop[f.name] {
			keep = append(keep, f.name)
		}
	}
	return strings.Join(keep, " ")
}

var matchTests = []struct {
	expr string
	want string // names of the matching frames; all others must not match
}{
	{"", except()},
	{"  ", except()},
	// Protocols.
	{"ip", setIP4},
	{"ip6", setIP6},
	{"arp", "arp"},
	{"rarp", "rarp"},
	{"tcp", setTCP},
	{"udp", setUDP}, // including the IPv6 fragment and both IPv4 fragments
	{"icmp", "icmp4"},
	{"icmp6", "icmp6"},
	{"sctp", "sctp4"},
	// IPv4 hosts: IP source/destination, and ARP/RARP sender/target.
	{"host 10.0.0.1", "tcp4 sctp4 icmp4 frag1 frag2 arp mcast4 short"},
	{"host 10.0.0.2", "tcp4 sctp4 opts4 frag1 frag2 arp short"},
	{"src host 10.0.0.1", "tcp4 sctp4 icmp4 frag1 frag2 arp mcast4 short"},
	{"dst host 10.0.0.1", ""},
	{"dst 10.0.0.2", "tcp4 sctp4 opts4 frag1 frag2 arp short"},
	{"ip host 10.0.0.1", "tcp4 sctp4 icmp4 frag1 frag2 mcast4 short"},
	{"arp host 10.0.0.2", "arp"},
	{"rarp src 10.9.9.9", "rarp"},
	{"src or dst host 10.0.0.3", "udp4"},
	{"dst or src host 10.0.0.3", "udp4"},
	{"host 10.0", setNet10}, // libpcap: a short host address is a network
	{"host 10", ""},         // libpcap: 0.0.0.10
	// IPv6 hosts never match IPv4 frames and vice versa.
	{"host 2001:db8::1", setIP6},
	{"dst host 2001:db8::2", "tcp6"},
	{"ip6 src host 2001:db8::1", setIP6},
	{"host ::ffff:10.0.0.1", ""},
	// Networks.
	{"net 10.0.0.0/8", setNet10},
	{"net 10/8", setNet10},
	{"net 192.168", "udp4"},
	{"net 172.16.0.0 mask 255.240.0.0", "opts4"},
	{"src net 10", "tcp4 udp4 sctp4 icmp4 frag1 frag2 arp rarp mcast4 short"},
	{"src and dst net 10.0.0.0/8", "tcp4 sctp4 frag1 frag2 arp rarp short"},
	{"net 0.0.0.0/0", setIP4 + " arp rarp"},
	{"net 2001:db8::/32", setIP6},
	{"dst net fe80::/10", "udp6frag"},
	{"ip6 net ::/0", setIP6},
	// Ports: IHL honoured, later fragments and truncated frames excluded.
	{"port 80", "tcp4 tcp6"},
	{"port 53", "udp4 frag1"},
	{"dst port 53", "udp4 frag1"},
	{"src port 53", ""},
	{"tcp port 80", "tcp4 tcp6"},
	{"udp port 80", ""},
	{"port 8080", "opts4"},
	{"port 37892", ""}, // bytes 34-35 of opts4 (IP option), read if IHL were ignored
	{"port 2905", "sctp4"},
	{"sctp port 2905", "sctp4"},
	{"tcp port 2905", ""},
	{"port 0x50", "tcp4 tcp6"},
	{"port 0120", "tcp4 tcp6"}, // octal, as in libpcap
	{"port http", "tcp4 tcp6"},
	{"udp port domain", "udp4 frag1"},
	{"portrange 50-60", "udp4 frag1"},
	{"portrange 9000-8000", "opts4"},
	{"tcp portrange 1-1024", "tcp4 tcp6"},
	{"udp src portrange 5000-6000", "udp4 mcast4"},
	// Implicit qualifier repetition.
	{"port 8080 or 1234", "opts4 tcp4 tcp6"},
	{"tcp dst port 8080 or 80", "opts4 tcp4 tcp6"},
	{"host 10.0.0.1 or 2001:db8::2", "tcp4 sctp4 icmp4 frag1 frag2 arp mcast4 short tcp6"},
	{"host 10.0.0.1 and not 10.0.0.2", "icmp4 mcast4"},
	{"host (10.0.0.3 or 192.168.1.1)", "udp4"},
	{"host (10.0.0.1 and not 8.8.8.8)", "tcp4 sctp4 frag1 frag2 arp mcast4 short"},
	{"udp and (port 53 or 5353)", "udp4 frag1 mcast4"},
	// Ethernet.
	{"ether src 02:00:00:00:00:aa", "arp"},
	{"ether host 02:00:00:00:00:aa", "arp"},
	{"ether src 02-00-00-00-00-AA", "arp"},
	{"ether src 0200.0000.00aa", "arp"},
	{"link src 2:0:0:0:0:aa", "arp"},
	{"ether dst ff:ff:ff:ff:ff:ff", "arp"},
	{"not ether src 02:00:00:00:00:01", "arp"},
	{"ether dst 02:00:00:00:00:02", except("arp icmp6 mcast4 raw")},
	{"broadcast", "arp"},
	{"ether broadcast", "arp"},
	{"multicast", "arp icmp6 mcast4 raw"},
	{"ether multicast and not broadcast", "icmp6 mcast4 raw"},
	{"ip multicast", "mcast4"},
	{"ip6 multicast", "icmp6"},
	// VLAN: every "vlan" shifts the offsets of what follows it.
	{"vlan", setVLAN},
	{"vlan 100", "v100"},
	{"vlan 300", "qinq"},
	{"vlan 300 and vlan 100", "qinq"},
	{"vlan and vlan", "qinq"},
	{"vlan 300 and vlan 100 and tcp port 80 and host 10.0.0.1", "qinq"},
	{"vlan 100 and tcp", "v100"},
	{"vlan and arp", "v200arp"},
	{"vlan and host 10.0.0.1", "v100 v200arp"},
	{"vlan 100 and port 80", "v100"},
	{"vlan 300 and tcp", ""},
	{"vlan or arp", setVLAN},          // "arp" is tested at offset 16
	{"arp or vlan", "arp " + setVLAN}, // "arp" precedes "vlan": offset 12
	{"vlan 100 or vlan 200", "v100"},  // the second "vlan" is an inner tag
	{"vlan and ether src 02:00:00:00:00:01", setVLAN},
	// Operators, precedence and parentheses.
	{"tcp and not port 80", "opts4"}, // "short" is rejected: the port load is out of bounds
	{"not tcp", except(setTCP)},
	{"not ip and not ip6", "arp rarp raw " + setVLAN},
	{"! arp && ! vlan", except("arp " + setVLAN)},
	{"arp or tcp and port 80", "tcp4 tcp6"}, // (arp or tcp) and port 80: and/or are equal, left-assoc
	{"arp or (tcp and port 80)", "arp tcp4 tcp6"},
	{"tcp and port 80 or arp", "tcp4 tcp6 arp"},
	{"not tcp and udp", setUDP},
	{"not (tcp or udp)", except(setTCP, setUDP)},
	{"!tcp&&!udp||arp", except(setTCP, setUDP)},
	{"not not tcp", setTCP},
	{"((tcp))", setTCP},
	{"tcp || udp", setTCP + " " + setUDP},
	{"icmp or arp or rarp", "icmp4 arp rarp"},
	{"host 10.0.0.1 and (tcp or udp) and not port 1000", "tcp4 frag2 mcast4"},
}

func TestMatch(t *testing.T) {
	frames := map[string][]byte{}
	for _, f := range testFrames {
		frames[f.name] = build(t, f.spec)
	}
	for _, tc := range matchTests {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.expr, err)
			continue
		}
		want := map[string]bool{}
		for _, n := range strings.Fields(tc.want) {
			if _, ok := frames[n]; !ok {
				t.Fatalf("%q: unknown frame %q", tc.expr, n)
			}
			want[n] = true
		}
		var got, wantL []string
		for _, fr := range testFrames {
			if f.Match(frames[fr.name]) {
				got = append(got, fr.name)
			}
			if want[fr.name] {
				wantL = append(wantL, fr.name)
			}
		}
		sort.Strings(got)
		sort.Strings(wantL)
		if strings.Join(got, " ") != strings.Join(wantL, " ") {
			t.Errorf("%q matches [%s], want [%s]\n%s", tc.expr, strings.Join(got, " "), strings.Join(wantL, " "), f.Dump())
		}
	}
}
