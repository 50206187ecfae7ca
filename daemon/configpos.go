package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ConfigError is a configuration's decoding error with the place in the
// input it was found at (1-based line and column; 0 when the decoder
// cannot tell, as for a value a field's UnmarshalJSON refused).
type ConfigError struct {
	Line, Column int
	Err          error
}

// Error reports the place, then the cause.
func (e *ConfigError) Error() string {
	if e.Line == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// unknownFieldPrefix starts encoding/json's error for a field the
// destination does not have (DisallowUnknownFields).
const unknownFieldPrefix = "json: unknown field "

// decodeError places err, returned by dec decoding data, in data: at the
// byte a syntax error names, the end of a value of the wrong type, the
// key of an unknown field or the end of truncated input. Other errors
// (a field's UnmarshalJSON refusing its value) are reported after the
// whole document was read, so they get no place.
func decodeError(data []byte, dec *json.Decoder, err error) *ConfigError {
	var at int64
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		at = syn.Offset - 1
	case errors.As(err, &typ):
		at = typ.Offset - 1
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		at = int64(len(data))
	case strings.HasPrefix(err.Error(), unknownFieldPrefix):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), unknownFieldPrefix))
		end := min(max(dec.InputOffset(), 0), int64(len(data)))
		i := bytes.LastIndex(data[:end], []byte(strconv.Quote(name)))
		if uerr != nil || i < 0 {
			return &ConfigError{Err: err}
		}
		at = int64(i)
	default:
		return &ConfigError{Err: err}
	}
	line, col := position(data, at)
	return &ConfigError{Line: line, Column: col, Err: err}
}

// position turns a 0-based byte index (clamped to the input, where its
// length means just past the end) into a 1-based line and column.
func position(data []byte, at int64) (line, col int) {
	at = min(max(at, 0), int64(len(data)))
	before := data[:at]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(at) - bytes.LastIndexByte(before, '\n')
	return line, col
}
