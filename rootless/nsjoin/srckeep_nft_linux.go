package nsjoin

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// srcNftTable is the nftables table (family inet) that carries the
// dialing sockets' mark over to the guest's replies through conntrack.
const srcNftTable = "switchyard_srckeep"

// setupConnmark adds, in the namespace:
//
//	table inet switchyard_srckeep {
//		chain out {
//			type route hook output priority mangle
//			meta mark 0x5377 ct mark set 0x5377
//			ct mark 0x5377 meta mark set 0x5377
//		}
//	}
//
// A table left by a killed helper is replaced.
func (k *srcKeeper) setupConnmark() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: srcNftTable}
	c.AddTable(t)
	c.DelTable(t) // a leftover, or the empty table just added
	t = c.AddTable(t)
	ch := c.AddChain(&nftables.Chain{Name: "out", Table: t, Type: nftables.ChainTypeRoute,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityMangle})
	mark := binaryutil.NativeEndian.PutUint32(srcMark)
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: mark},
		&expr.Immediate{Register: 1, Data: mark},
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1, SourceRegister: true},
	}})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		&expr.Ct{Key: expr.CtKeyMARK, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: mark},
		&expr.Immediate{Register: 1, Data: mark},
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1, SourceRegister: true},
	}})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables table inet %s: %w", srcNftTable, err)
	}
	k.undo = append(k.undo, func() {
		c.DelTable(t)
		_ = c.Flush()
	})
	return nil
}
