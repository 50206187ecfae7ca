package uplink

import (
	"testing"

	"github.com/switchyard/switchyard/port"
)

// FuzzParseAux feeds arbitrary control buffers to the auxdata parser: it
// must not panic, and a tag it reports must come from an auxdata message.
func FuzzParseAux(f *testing.F) {
	f.Add([]byte(nil))
	f.Add(cmsg(solPacket, packetAuxdata, auxdata(tpStatusVLANValid, 10, 0)))
	f.Add(append(cmsg(1, 2, []byte{1, 2, 3}), cmsg(solPacket, packetAuxdata, auxdata(0, 0, 0))...))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseAux(b)
		if err != nil && a != (aux{}) {
			t.Errorf("error %v with a result %+v", err, a)
		}
		if !a.tagged && (a.tci != 0 || a.tpid != 0) {
			t.Errorf("untagged result with tag fields: %+v", a)
		}
	})
}

// FuzzFrameVLAN classifies arbitrary frames and tags, and puts the tag
// back as the parent does: the frame grows by one tag whose VLAN is the
// one reported.
func FuzzFrameVLAN(f *testing.F) {
	f.Add(true, uint16(10), uint16(0), testFrame(macB, macA, 0, "x"))
	f.Add(false, uint16(0), uint16(0), testFrame(macB, macA, 12, "x"))
	f.Add(true, uint16(5), uint16(tpid8021AD), []byte{1, 2})
	f.Fuzz(func(t *testing.T, tagged bool, tci, tpid uint16, d []byte) {
		if len(d) > 1500 {
			return
		}
		a := aux{tagged: tagged, tci: tci, tpid: tpid}
		vid, gotTCI, insert, ok := frameVLAN(a, d)
		if !ok {
			return
		}
		if vid > MaxVLAN {
			t.Fatalf("VLAN %d out of range", vid)
		}
		if !insert {
			return
		}
		fr := port.Get(len(d))
		defer port.Put(fr)
		fr.SetData(d)
		insertTag(fr, gotTCI)
		got := fr.Data()
		if len(got) != len(d)+port.VLANTagLen || uint16(got[14])<<8|uint16(got[15])&0x0fff != vid ||
			string(got[:12]) != string(d[:12]) || string(got[16:]) != string(d[12:]) {
			t.Fatalf("tagged % x from % x, VLAN %d", got, d, vid)
		}
	})
}

// FuzzParseParent checks the parent parser never panics and its results
// are valid.
func FuzzParseParent(f *testing.F) {
	for _, s := range []string{"eth1", "eth1.10", "br.lan", "eth1.0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iface, vlan, err := ParseParent(s)
		if err != nil {
			return
		}
		if vlan > MaxVLAN || checkIfname(iface) != nil {
			t.Fatalf("ParseParent(%q) = %q, %d", s, iface, vlan)
		}
	})
}
