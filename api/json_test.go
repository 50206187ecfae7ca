package api

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

// requests are the documents clients send: their optional fields may be
// left out. Every other struct of the package is printed by `--json` and
// must show every field, zero values included.
var requests = map[string]bool{
	"NetworkCreate": true, "EndpointCreate": true, "CaptureRequest": true, "PublishRequest": true,
	// Not JSON documents.
	"Client": true, "StatusError": true,
}

// printed lists a zero value of every struct the CLI prints; TestJSON
// checks it against the package's source, so a new type is not missed.
var printed = []any{
	Network{}, Flow{}, NATStats{}, Conntrack{}, Endpoint{}, FDBEntry{}, Host{}, PortStats{},
	SecurityDrops{}, NetworkStats{}, UplinkStats{}, GatewayStats{}, Stats{}, Error{}, Published{},
	Repair{}, DNSStats{}, DHCPStats{}, ProxyStats{},
}

// structTypes returns the names of the struct types declared in the
// package's non-test files.
func structTypes(t *testing.T) []string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				if ts, ok := n.(*ast.TypeSpec); ok {
					if _, ok := ts.Type.(*ast.StructType); ok && ts.Name.IsExported() {
						names = append(names, ts.Name.Name)
					}
				}
				return true
			})
		}
	}
	return names
}

// TestJSONEveryFieldPresent: every struct `--json` prints has a JSON name
// on each field and no omitempty, and its zero value (and the zero value
// of each nested struct) marshals with every field present.
func TestJSONEveryFieldPresent(t *testing.T) {
	listed := map[string]bool{}
	for _, v := range printed {
		listed[reflect.TypeOf(v).Name()] = true
	}
	for _, name := range structTypes(t) {
		if !listed[name] && !requests[name] {
			t.Errorf("struct %s is neither in printed nor in requests: add it to one", name)
		}
	}
	for _, v := range printed {
		checkType(t, reflect.TypeOf(v))
		checkZero(t, reflect.TypeOf(v).Name(), v)
	}
}

func checkType(t *testing.T, typ reflect.Type) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			t.Errorf("%s.%s: no JSON name (tag %q)", typ.Name(), f.Name, tag)
		}
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
			t.Errorf("%s.%s: %q drops the zero value from --json output", typ.Name(), f.Name, tag)
		}
	}
}

// checkZero marshals v and checks each field's key is there, descending
// into nested structs (and into a zero element of slices of structs).
func checkZero(t *testing.T, path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %s is not an object: %v", path, b, err)
	}
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if _, ok := m[name]; !ok {
			t.Errorf("%s: field %q missing from %s", path, name, b)
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
			checkType(t, ft)
			checkZero(t, path+"."+name, reflect.Zero(ft).Interface())
		}
	}
}
