package rootless

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestStrtol10(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"", 0, true}, {"42", 42, true}, {" \t+42", 42, true}, {"-7", -7, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"99999999999999999999999", 0, false},
		{" ", 0, false}, {"+", 0, false}, {"-", 0, false}, {"1 ", 0, false}, {"0x10", 0, false}, {"1e3", 0, false},
	} {
		if got, ok := strtol10(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("strtol10(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestScanHex: values observed with glibc's sscanf("%x").
func TestScanHex(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int32
		ok   bool
	}{
		{"0x", 0, true}, {"0xg", 0, true}, {"0X1f", 31, true}, {" +a", 10, true}, {"-1", -1, true},
		{"-0", 0, true}, {"- 1", 0, false}, {"+", 0, false}, {"", 0, false}, {"x", 0, false},
		{"100000000", 0, true}, {"fffffffff", -1, true}, {"ffffffffffffffffffffff", -1, true},
		{"-ffffffff", 1, true}, {"0x-1", 0, true}, {"1g", 1, true}, {" ", 0, false}, {"-0x10", -16, true},
	} {
		if got, ok := scanHex(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("scanHex(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestInetPton(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4": "1.2.3.4", "0.0.0.0": "0.0.0.0", "255.255.255.255": "255.255.255.255",
		"010.0.0.1": "", "1.2.3": "", "1.2.3.4.5": "", "256.1.1.1": "", "1..2.3": "", " 1.2.3.4": "",
		"1.2.3.4 ": "", "::1": "", "": "", "1.2.3.0004": "",
	} {
		a, ok := inetPton4(in)
		if got := map[bool]string{true: a.String(), false: ""}[ok]; got != want {
			t.Errorf("inetPton4(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"::1": "::1", "fd00::2": "fd00::2", "::ffff:1.2.3.4": "::ffff:1.2.3.4",
		"1.2.3.4": "", "fe80::1%lo": "", "lo": "", "": "",
	} {
		a, ok := inetPton6(in)
		if got := map[bool]string{true: a.String(), false: ""}[ok]; got != want {
			t.Errorf("inetPton6(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestParseMAC(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "% x" of the six bytes and the count, or the error
	}{
		{"aa:bb:cc:dd:ee:ff", "aa bb cc dd ee ff/6"},
		{"AA:0B:c:1:2:3", "aa 0b 0c 01 02 03/6"},
		{"aa:bb", "aa bb 00 00 00 00/2"},
		{"1:2:3:4:5:", `"1:2:3:4:5:" is an invalid MAC address.`},
		{"1:2:3:4:5:6:", `"1:2:3:4:5:6:" is an invalid MAC address.  Is it too long?`},
		{"100", `"100" is an invalid MAC address.`},
		{"-1", `"-1" is an invalid MAC address.`},
		{"-ffffffff", "01 00 00 00 00 00/1"},
		{"", `"" is an invalid MAC address.`},
		{":", `":" is an invalid MAC address.`},
	} {
		mac, n, msg := parseMAC(tc.in)
		got := strings.TrimSuffix(msg, "\n")
		if msg == "" {
			got = fmt.Sprintf("% x/%d", mac, n)
		}
		if got != tc.want {
			t.Errorf("parseMAC(%q) = %s; want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseJSONNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"1.", 1, true}, {"1.5", 1.5, true}, {"-.5", -0.5, true}, {"0.5e5", 50000, true},
		{"-0", 0, true}, {"1E+2", 100, true}, {"1.e5", 100000, true}, {"1e-999", 0, true}, {"-0.", 0, true},
		{".5", 0, false}, {"+1", 0, false}, {"0e5", 0, false}, {"01", 0, false}, {"-01", 0, false},
		{"00.5", 0, false}, {"-inf", 0, false}, {"-nan", 0, false}, {"1e999", 0, false}, {"0x10", 0, false},
		{"-", 0, false}, {"1e", 0, false}, {"- 1", 0, false}, {"123abc", 0, false}, {strings.Repeat("9", 400), 0, false},
	} {
		v, ok := parseJSON([]byte(`{"x":` + tc.in + `}`))
		got := 0.0
		if ok {
			got = v.getNumber("x")
		}
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: %v %v; want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestParseJSONSyntax: acceptance observed from slirp4netns 1.2.0.
func TestParseJSONSyntax(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"x":"\u00C9"}`, true}, {`{"x":"\uD83D\uDE00"}`, true}, {`{"x":"\ud800\u0041"}`, false},
		{`{"x":"\ud800x"}`, false}, {`{"x":"\udc00"}`, false}, {`{"x":"\u00"}`, false}, {`{"x":"\U0041"}`, false},
		{`{"x":"\x"}`, false}, {"{\"x\":\"\x01\"}", false}, {"{\"x\":\"\t\"}", false}, {"{\"x\":\"\xff\"}", true},
		{`{"x":"\/"}`, true}, {`{"x":'a'}`, false}, {"{\"x\":\v1}", true}, {`{"x":[1,]}`, false}, {`{"x":[,]}`, false},
		{`{"x":{}}`, true}, {`{"x":{,}}`, false}, {`{"a":1,}`, false}, {`{"x":[1 2]}`, false}, {`{"x":tru}`, false},
		{`{"x":truefalse}`, false}, {`{"x\u0000":1}`, false}, {`{"a":1,"a":1}`, false}, {`{"":1}`, true},
		{"\xef\xbb\xbf{}", true}, {" \xef\xbb\xbf{}", false}, {"\x00{}", false}, {"{}\x00x", true}, {"{} x", true},
		{"  ", false}, {`"a`, false}, {`true`, true}, {`-`, true}, {`0x`, true},
		{strings.Repeat("[", 2049) + strings.Repeat("]", 2049), true},
		{strings.Repeat("[", 2050) + strings.Repeat("]", 2050), false},
	} {
		if _, ok := parseJSON([]byte(tc.in)); ok != tc.ok {
			t.Errorf("%.40q: ok %v; want %v", tc.in, ok, tc.ok)
		}
	}
}
