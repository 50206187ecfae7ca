package uplink

import (
	"encoding/binary"
	"testing"

	"github.com/switchyard/switchyard/offload"
	"github.com/switchyard/switchyard/port"
)

// cmsg builds one control message of the host's layout.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, cmsgAlign(cmsgHdrLen+len(data)))
	if ptrSize == 8 {
		binary.NativeEndian.PutUint64(b, uint64(cmsgHdrLen+len(data)))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(cmsgHdrLen+len(data)))
	}
	binary.NativeEndian.PutUint32(b[ptrSize:], uint32(level))
	binary.NativeEndian.PutUint32(b[ptrSize+4:], uint32(typ))
	copy(b[cmsgHdrLen:], data)
	return b
}

// auxdata builds a struct tpacket_auxdata.
func auxdata(status uint32, tci, tpid uint16) []byte {
	b := make([]byte, auxdataLen)
	binary.NativeEndian.PutUint32(b, status)
	binary.NativeEndian.PutUint16(b[16:], tci)
	binary.NativeEndian.PutUint16(b[18:], tpid)
	return b
}

func TestParseAux(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b       []byte
		want    aux
		wantErr bool
	}{
		{"none", nil, aux{}, false},
		{"untagged", cmsg(solPacket, packetAuxdata, auxdata(1, 0, 0)), aux{}, false},
		{"vlan 10", cmsg(solPacket, packetAuxdata, auxdata(tpStatusVLANValid, 10, 0)), aux{tagged: true, tci: 10}, false},
		{"vlan 10 with tpid", cmsg(solPacket, packetAuxdata, auxdata(tpStatusVLANValid|tpStatusTPIDValid, 0x200a, tpid8021Q)),
			aux{tagged: true, tci: 0x200a, tpid: tpid8021Q}, false},
		{"after another message", append(cmsg(1, 2, []byte{1, 2, 3}), cmsg(solPacket, packetAuxdata, auxdata(tpStatusVLANValid, 7, 0))...),
			aux{tagged: true, tci: 7}, false},
		{"other message only", cmsg(1, 2, []byte{1}), aux{}, false},
		{"short auxdata", cmsg(solPacket, packetAuxdata, []byte{1, 2}), aux{}, true},
		{"length beyond buffer", cmsg(solPacket, packetAuxdata, auxdata(0, 0, 0))[:cmsgHdrLen+4], aux{}, true},
		{"length below header", make([]byte, cmsgHdrLen), aux{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAux(tc.b)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseAux = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestFrameVLAN(t *testing.T) {
	plain := testFrame(macB, macA, 0, "x")
	tagged := testFrame(macB, macA, 12, "x")
	qinq := append([]byte(nil), plain...)
	binary.BigEndian.PutUint16(qinq[12:], tpid8021AD)
	for _, tc := range []struct {
		name       string
		a          aux
		d          []byte
		vid, tci   uint16
		insert, ok bool
	}{
		{"untagged", aux{}, plain, 0, 0, false, true},
		{"stripped tag", aux{tagged: true, tci: 0x600a}, plain, 10, 0x600a, true, true},
		{"stripped 802.1Q tpid", aux{tagged: true, tci: 10, tpid: tpid8021Q}, plain, 10, 10, true, true},
		{"stripped 802.1ad", aux{tagged: true, tci: 10, tpid: tpid8021AD}, plain, 0, 0, false, false},
		{"priority tag", aux{tagged: true, tci: 0xe000}, plain, 0, 0, false, true},
		{"vid 4095", aux{tagged: true, tci: 0x0fff}, plain, 0, 0, false, false},
		{"tag in data", aux{}, tagged, 12, 0, false, true},
		{"802.1ad in data", aux{}, qinq, 0, 0, false, false},
		{"runt", aux{}, plain[:10], 0, 0, false, false},
		{"truncated tag", aux{}, tagged[:15], 0, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vid, tci, insert, ok := frameVLAN(tc.a, tc.d)
			if vid != tc.vid || tci != tc.tci || insert != tc.insert || ok != tc.ok {
				t.Errorf("frameVLAN = %d %#x %v %v; want %d %#x %v %v", vid, tci, insert, ok, tc.vid, tc.tci, tc.insert, tc.ok)
			}
		})
	}
}

func TestInsertTag(t *testing.T) {
	f := port.Get(100)
	defer port.Put(f)
	plain := testFrame(macB, macA, 0, "payload")
	f.SetData(plain)
	f.VNet = offload.Hdr{Flags: offload.FlagNeedsCsum, CsumStart: 14, CsumOffset: 10}
	insertTag(f, 0x2014)
	want := append(append(append([]byte(nil), plain[:12]...), 0x81, 0, 0x20, 0x14), plain[12:]...)
	if string(f.Data()) != string(want) {
		t.Errorf("tagged frame % x, want % x", f.Data(), want)
	}
	if f.VNet.CsumStart != 18 {
		t.Errorf("checksum start %d, want 18", f.VNet.CsumStart)
	}
}

func TestParseParent(t *testing.T) {
	for _, tc := range []struct {
		in    string
		iface string
		vlan  uint16
		err   bool
	}{
		{"eth1", "eth1", 0, false},
		{"eth1.10", "eth1", 10, false},
		{"eth1.4094", "eth1", 4094, false},
		{"br.lan", "br.lan", 0, false},
		{"a.b.20", "a.b", 20, false},
		{"eth1.0", "", 0, true},
		{"eth1.4095", "", 0, true},
		{"eth1.99999", "", 0, true},
		{"", "", 0, true},
		{".10", ".10", 0, false},
		{"eth1.", "eth1.", 0, false},
		{"a/b", "", 0, true},
		{"averyveryverylongname", "", 0, true},
		{"eth 1", "", 0, true},
	} {
		iface, vlan, err := ParseParent(tc.in)
		if iface != tc.iface || vlan != tc.vlan || (err != nil) != tc.err {
			t.Errorf("ParseParent(%q) = %q, %d, %v; want %q, %d, error %v", tc.in, iface, vlan, err, tc.iface, tc.vlan, tc.err)
		}
	}
}
