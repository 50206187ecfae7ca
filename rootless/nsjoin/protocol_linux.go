package nsjoin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The parent and the child talk over a SOCK_SEQPACKET socket pair: one JSON
// object per message, with at most one descriptor attached (SCM_RIGHTS).
// The child's first message carries the TAP; after that the parent sends
// requests and the child answers each with a reply of the same ID.

// maxMsg bounds a message; ours are a few hundred bytes.
const maxMsg = 4096

// request is a message from the parent.
type request struct {
	// Op is "dial", "cancel" (of a dial still in progress) or "addrs"
	// (the TAP's global IPv6 addresses).
	Op string `json:"op"`
	ID uint64 `json:"id"`
	// Network ("tcp" or "udp") and Addr (ip:port) of a dial.
	Network string `json:"net,omitempty"`
	Addr    string `json:"addr,omitempty"`
	// TimeoutMS bounds a dial; 0 means none.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Src, when set, is the client address a TCP dial is to come from.
	Src string `json:"src,omitempty"`
}

// reply is a message from the child: the TAP (ID 0) or a dial's outcome.
type reply struct {
	ID    uint64    `json:"id"`
	Err   string    `json:"err,omitempty"`
	Errno int       `json:"errno,omitempty"`
	Tap   *tapReply `json:"tap,omitempty"`
	// SrcLost says why a dial asked to keep a source did not.
	SrcLost string `json:"src_lost,omitempty"`
	// Addrs answers "addrs" (never nil then, null otherwise).
	Addrs []string `json:"addrs"`
}

// tapReply describes the TAP that comes with the child's first message.
type tapReply struct {
	Name    string `json:"name"`
	Index   int    `json:"index"`
	MTU     int    `json:"mtu"`
	MAC     string `json:"mac"`
	VnetHdr bool   `json:"vnet_hdr"`
	Offload bool   `json:"offload"`
	// Fallback says why the virtio-net header was not used, if asked for.
	Fallback string `json:"fallback,omitempty"`
}

// errReply builds a reply carrying err and its system error number.
func errReply(id uint64, err error) reply {
	r := reply{ID: id, Err: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = int(errno)
	}
	return r
}

// remoteErr returns the reply's error, or nil.
func (r *reply) remoteErr() error {
	if r.Err == "" {
		return nil
	}
	return &RemoteError{Msg: r.Err, Errno: syscall.Errno(r.Errno)}
}

// sendMsg writes v as one message, with fd attached unless it is negative.
func sendMsg(c *net.UnixConn, v any, fd int) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	return err
}

// errEOF reports that the peer closed its end.
var errEOF = errors.New("peer closed the socket")

// badMsgError is a message that could not be decoded; the socket itself is
// still fine.
type badMsgError struct{ err error }

func (e *badMsgError) Error() string { return "bad message: " + e.err.Error() }
func (e *badMsgError) Unwrap() error { return e.err }

// recvMsg reads one message into v and returns the descriptor that came
// with it (-1 if none; the caller owns it, close-on-exec is set).
// Unexpected extra descriptors are closed. The error is errEOF when the
// peer has closed its end, a *badMsgError for a message that does not
// decode, and otherwise the socket's error.
func recvMsg(c *net.UnixConn, buf, oob []byte, v any) (fd int, err error) {
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if errors.Is(err, io.EOF) || err == nil && n == 0 && oobn == 0 {
		return -1, errEOF
	}
	if err != nil {
		return -1, err
	}
	fd = -1
	if oobn > 0 {
		fds, perr := parseRights(oob[:oobn])
		if perr != nil {
			return -1, &badMsgError{perr}
		}
		for i, f := range fds {
			if i == 0 {
				fd = f
			} else {
				unix.Close(f)
			}
		}
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		err = &badMsgError{fmt.Errorf("truncated (flags %#x)", flags)}
	} else if jerr := json.Unmarshal(buf[:n], v); jerr != nil {
		err = &badMsgError{jerr}
	}
	if err != nil && fd >= 0 {
		unix.Close(fd)
		fd = -1
	}
	return fd, err
}

// parseRights extracts the descriptors of SCM_RIGHTS control messages.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		r, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return nil, fmt.Errorf("SCM_RIGHTS: %w", err)
		}
		fds = append(fds, r...)
	}
	return fds, nil
}

// oobSize leaves room for a few descriptors, so that unexpected extras are
// received (and closed) rather than truncated.
var oobSize = unix.CmsgSpace(4 * 4)

// fileConn turns an inherited or received socket descriptor into a
// *net.UnixConn; fd is consumed.
func fileConn(fd int, name string) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("%s is a %T, want a unix socket", name, c)
	}
	return uc, nil
}
