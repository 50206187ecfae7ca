package daemon

import (
	"errors"
	"strings"
	"testing"
)

// TestConfigErrorPosition: a configuration that does not decode is
// reported with the line and column of the offending token.
func TestConfigErrorPosition(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		line, col  int
		errContain string
	}{
		{"type", "{\n  \"networks\": [\n    {\"name\": 5}\n  ]\n}", 3, 14, "cannot unmarshal number"},
		{"syntax", "{\n  \"fdb_max\": 10,\n  \"ageing_time\" \"5m\"\n}", 3, 17, "invalid character"},
		{"unknown field", "{\"fdb_max\": 1,\n \"bogus\": 1}", 2, 2, "unknown field \"bogus\""},
		{"refused by UnmarshalJSON: no place", "{\"ageing_time\": \"soon\"}", 0, 0, "invalid duration \"soon\""},
		{"empty", "", 1, 1, "EOF"},
		{"truncated", "{\"fdb_max\":", 1, 12, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.in))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseConfig(%q) = %v, want a *ConfigError", tc.in, err)
			}
			if ce.Line != tc.line || ce.Column != tc.col {
				t.Errorf("position %d:%d, want %d:%d (%v)", ce.Line, ce.Column, tc.line, tc.col, err)
			}
			if !strings.Contains(err.Error(), tc.errContain) {
				t.Errorf("error %q does not contain %q", err, tc.errContain)
			}
		})
	}
}

// TestConfigInvalidValueHasNoPosition: a value that decodes but is out of
// range is named by its field, without a made-up position.
func TestConfigInvalidValueHasNoPosition(t *testing.T) {
	_, err := ParseConfig([]byte(`{"fdb_max": -1}`))
	var ce *ConfigError
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "fdb_max") {
		t.Fatalf("err = %v, want a fdb_max range error without a position", err)
	}
}
