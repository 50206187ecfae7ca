package daemon

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseConfig: any bytes give a valid configuration or an error,
// never a panic; an error's place is inside the input; an accepted one
// passes validation again.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"ageing_time": "10m", "fdb_max": 100}`, `{"networks": [{"name": "x", "subnet": "10.1.0.0/24"}]}`,
		`{"udp_idle": "-1s"}`, `{"proxy_max_flows": -1}`, `{"networks": [{"name": "", "subnet": "nope"}]}`, `{"unknown": 1}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		var ce *ConfigError
		if errors.As(err, &ce) && ce.Line != 0 {
			if lines := 1 + bytes.Count(data, []byte{'\n'}); ce.Line < 1 || ce.Line > lines || ce.Column < 1 || ce.Column > len(data)+1 {
				t.Fatalf("error placed at %d:%d outside the input (%d lines, %d bytes): %v", ce.Line, ce.Column, lines, len(data), err)
			}
		}
		if err != nil {
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
	})
}
