package vxlan

import (
	"encoding/binary"
	"testing"
	"time"
)

// synFrame is an IPv4 TCP SYN from macA to macB with the given options and
// a complete checksum.
func synFrame(opts ...byte) []byte {
	b := ethFrame(macB, macA, "")
	ip := make([]byte, 40+len(opts))
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^csum(ip[:20], 0))
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	tcp[12], tcp[13] = byte((20+len(opts))/4)<<4, 0x02
	copy(tcp[20:], opts)
	binary.BigEndian.PutUint16(tcp[16:], ^csum(tcp, uint32(csum(ip[12:20], 6+uint32(len(tcp))))))
	return append(b, ip...)
}

// tcpChecksumOK verifies a frame's TCP checksum.
func tcpChecksumOK(f []byte) bool {
	ip := f[14:]
	tcp := ip[20:]
	return csum(tcp, uint32(csum(ip[12:20], 6+uint32(len(tcp))))) == 0xffff
}

func TestClampMSS(t *testing.T) {
	tests := []struct {
		name    string
		opts    []byte
		clamped bool
		at      int // offset of the MSS value in the options
	}{
		{"mss first", []byte{2, 4, 0x05, 0xb4, 1, 1, 4, 2}, true, 2},
		{"mss at an odd offset", []byte{1, 2, 4, 0x23, 0x28, 1, 1, 0}, true, 3},
		{"already small", []byte{2, 4, 0x05, 0x00, 1, 1, 1, 1}, false, 2},
		{"no mss", []byte{1, 1, 4, 2}, false, 0},
		{"bad length", []byte{3, 0, 2, 4, 0x05, 0xb4, 0, 0}, false, 0},
		{"end of options", []byte{0, 0, 0, 0, 2, 4, 0x05, 0xb4}, false, 0},
	}
	for _, tt := range tests {
		f := synFrame(tt.opts...)
		if got := clampMSS(f, 1410); got != tt.clamped {
			t.Errorf("%s: clamped %v, want %v", tt.name, got, tt.clamped)
		}
		if !tcpChecksumOK(f) {
			t.Errorf("%s: TCP checksum wrong after clamping", tt.name)
		}
		if tt.clamped {
			if mss := binary.BigEndian.Uint16(f[54+tt.at:]); mss != 1410 {
				t.Errorf("%s: MSS %d, want 1410", tt.name, mss)
			}
		}
	}
	ack := synFrame(2, 4, 0x05, 0xb4)
	ack[47] = 0x10
	if clampMSS(ack, 1410) {
		t.Error("a segment without SYN was changed")
	}
}

// TestSYNClampedAcrossTunnel: a SYN announcing an MSS larger than the
// overlay carries arrives with the overlay's (MTU 1450 - 40), checksum
// intact.
func TestSYNClampedAcrossTunnel(t *testing.T) {
	p := freePort(t)
	a, b := listen(t, "127.0.0.1", p), listen(t, "127.0.0.2", p)
	ta := tunnel(t, a, TunnelConfig{VNI: 12}, "127.0.0.2")
	tb := tunnel(t, b, TunnelConfig{VNI: 12})
	send(t, ta, synFrame(2, 4, 0x05, 0xb4, 1, 1, 1, 0))
	got := recvFrame(tb, 2*time.Second)
	if len(got) < 58 || binary.BigEndian.Uint16(got[56:]) != 1410 || !tcpChecksumOK(got) {
		t.Fatalf("received SYN % x: want MSS 1410 and a valid checksum", got)
	}
}

// FuzzClampMSS feeds arbitrary frames to the MSS clamp: it must never
// panic, keeps a valid checksum valid, and a clamped frame stays clamped.
func FuzzClampMSS(f *testing.F) {
	f.Add(synFrame(2, 4, 0x05, 0xb4, 1, 1, 1, 0))
	f.Add(synFrame(1, 2, 4, 0x23, 0x28, 1, 1, 0))
	f.Fuzz(func(t *testing.T, d []byte) {
		valid := len(d) >= 54 && d[14] == 0x45 && binary.BigEndian.Uint16(d[16:]) == uint16(len(d)-14) && tcpChecksumOK(d)
		if clampMSS(d, 1410) {
			if valid && !tcpChecksumOK(d) {
				t.Fatal("clamping broke a valid checksum")
			}
			if clampMSS(d, 1410) {
				t.Fatal("clamped twice")
			}
		}
	})
}
