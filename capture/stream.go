package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	vswitch "github.com/switchyard/switchyard/switch"
)

// The stream the daemon sends `switchyard capture`: a sequence of items,
// each starting with a kind byte.
//
//	kindPort  (1): network name, port name (u8 length + bytes each) — a
//	               port the capture watches, sent before its frames
//	kindFrame (2): dir u8, network, port, time ns i64, orig len u32,
//	               captured len u32, bytes
//	kindEnd   (3): captured u64, dropped u64 — the last item
//	kindStats (4): captured u64, dropped u64 — counters so far (sent
//	               periodically, so a reader stopped early can report them)
const (
	kindPort  = 1
	kindFrame = 2
	kindEnd   = 3
	kindStats = 4
)

// MaxCaptureLen bounds a frame in the stream (and the snaplen).
const MaxCaptureLen = 1 << 20

// Frame is a decoded stream frame.
type Frame struct {
	Network, Port string
	Dir           vswitch.Direction
	Time          time.Time
	OrigLen       int
	Data          []byte
}

// End carries the session's counters: the stream's closing item (Final),
// or a periodic update.
type End struct {
	Captured, Dropped uint64
	Final             bool
}

// StreamWriter writes the capture stream.
type StreamWriter struct {
	w   *bufio.Writer
	hdr [32]byte
}

// NewStreamWriter returns a writer on w.
func NewStreamWriter(w io.Writer) *StreamWriter {
	return &StreamWriter{w: bufio.NewWriterSize(w, 256<<10)}
}

func (s *StreamWriter) names(network, port string) {
	s.w.WriteByte(byte(len(network)))
	s.w.WriteString(network)
	s.w.WriteByte(byte(len(port)))
	s.w.WriteString(port)
}

// WritePort announces a watched port.
func (s *StreamWriter) WritePort(network, port string) error {
	s.w.WriteByte(kindPort)
	s.names(clip(network), clip(port))
	return nil
}

// WriteFrame writes one frame.
func (s *StreamWriter) WriteFrame(network, port string, dir vswitch.Direction, t time.Time, origLen int, data []byte) error {
	s.w.WriteByte(kindFrame)
	s.w.WriteByte(byte(dir))
	s.names(clip(network), clip(port))
	binary.BigEndian.PutUint64(s.hdr[0:], uint64(t.UnixNano()))
	binary.BigEndian.PutUint32(s.hdr[8:], uint32(origLen))
	binary.BigEndian.PutUint32(s.hdr[12:], uint32(len(data)))
	s.w.Write(s.hdr[:16])
	_, err := s.w.Write(data)
	return err
}

// WriteStats writes the counters so far.
func (s *StreamWriter) WriteStats(captured, dropped uint64) error {
	s.w.WriteByte(kindStats)
	binary.BigEndian.PutUint64(s.hdr[0:], captured)
	binary.BigEndian.PutUint64(s.hdr[8:], dropped)
	_, err := s.w.Write(s.hdr[:16])
	return err
}

// WriteEnd writes the closing counters.
func (s *StreamWriter) WriteEnd(captured, dropped uint64) error {
	s.w.WriteByte(kindEnd)
	binary.BigEndian.PutUint64(s.hdr[0:], captured)
	binary.BigEndian.PutUint64(s.hdr[8:], dropped)
	s.w.Write(s.hdr[:16])
	return s.w.Flush()
}

// Flush sends what is buffered.
func (s *StreamWriter) Flush() error { return s.w.Flush() }

func clip(s string) string {
	if len(s) > 255 {
		return s[:255]
	}
	return s
}

// StreamReader decodes the capture stream.
type StreamReader struct {
	r   *bufio.Reader
	buf []byte
}

// NewStreamReader returns a reader on r.
func NewStreamReader(r io.Reader) *StreamReader {
	return &StreamReader{r: bufio.NewReaderSize(r, 256<<10)}
}

// ErrStream is wrapped by errors about a malformed stream.
var ErrStream = errors.New("capture stream")

// Next returns the next item: a port announcement (Frame with nil Data and
// OrigLen -1), a frame, or counters (End; Final for the last item). The Frame's Data is valid until the
// next call. io.EOF means the stream ended without an end item.
func (s *StreamReader) Next() (Frame, *End, error) {
	kind, err := s.r.ReadByte()
	if err != nil {
		return Frame{}, nil, err
	}
	switch kind {
	case kindPort:
		network, port, err := s.readNames()
		return Frame{Network: network, Port: port, OrigLen: -1}, nil, err
	case kindFrame:
		return s.readFrame()
	case kindEnd, kindStats:
		var b [16]byte
		if _, err := io.ReadFull(s.r, b[:]); err != nil {
			return Frame{}, nil, fmt.Errorf("%w: counters: %w", ErrStream, unexpected(err))
		}
		return Frame{}, &End{Captured: binary.BigEndian.Uint64(b[0:]), Dropped: binary.BigEndian.Uint64(b[8:]), Final: kind == kindEnd}, nil
	}
	return Frame{}, nil, fmt.Errorf("%w: unknown item kind %d", ErrStream, kind)
}

func (s *StreamReader) readFrame() (Frame, *End, error) {
	dir, err := s.r.ReadByte()
	if err != nil {
		return Frame{}, nil, fmt.Errorf("%w: frame: %w", ErrStream, unexpected(err))
	}
	if dir > byte(vswitch.Out) {
		return Frame{}, nil, fmt.Errorf("%w: bad direction %d", ErrStream, dir)
	}
	network, port, err := s.readNames()
	if err != nil {
		return Frame{}, nil, err
	}
	var h [16]byte
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		return Frame{}, nil, fmt.Errorf("%w: frame header: %w", ErrStream, unexpected(err))
	}
	orig, n := binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
	if n > MaxCaptureLen || n > orig {
		return Frame{}, nil, fmt.Errorf("%w: bad frame lengths %d/%d", ErrStream, n, orig)
	}
	if cap(s.buf) < int(n) {
		s.buf = make([]byte, n)
	}
	data := s.buf[:n]
	if _, err := io.ReadFull(s.r, data); err != nil {
		return Frame{}, nil, fmt.Errorf("%w: frame data: %w", ErrStream, unexpected(err))
	}
	return Frame{Network: network, Port: port, Dir: vswitch.Direction(dir),
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(h[0:]))), OrigLen: int(orig), Data: data}, nil, nil
}

func (s *StreamReader) readNames() (string, string, error) {
	var out [2]string
	for i := range out {
		n, err := s.r.ReadByte()
		if err != nil {
			return "", "", fmt.Errorf("%w: name: %w", ErrStream, unexpected(err))
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(s.r, b); err != nil {
			return "", "", fmt.Errorf("%w: name: %w", ErrStream, unexpected(err))
		}
		out[i] = string(b)
	}
	return out[0], out[1], nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
