package daemon

import "testing"

// FuzzParseConfig: any bytes give a valid configuration or an error,
// never a panic; an accepted one passes validation again.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"ageing_time": "10m", "fdb_max": 100}`, `{"networks": [{"name": "x", "subnet": "10.1.0.0/24"}]}`,
		`{"udp_idle": "-1s"}`, `{"proxy_max_flows": -1}`, `{"networks": [{"name": "", "subnet": "nope"}]}`, `{"unknown": 1}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
	})
}
