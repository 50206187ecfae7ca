package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/api"
)

func TestSplitFamilies(t *testing.T) {
	tests := []struct {
		subnets, gateways []string
		ipv6              bool
		want              api.NetworkCreate
		err               string
	}{
		{[]string{"10.1.0.0/24"}, nil, false, api.NetworkCreate{Subnet: "10.1.0.0/24"}, ""},
		{[]string{"10.1.0.0/24", "fd00:1::/64"}, []string{"fd00:1::fe", "10.1.0.254"}, false,
			api.NetworkCreate{Subnet: "10.1.0.0/24", Subnet6: "fd00:1::/64", Gateway: "10.1.0.254", Gateway6: "fd00:1::fe"}, ""},
		{[]string{"fd00:1::/64", "10.1.0.0/24"}, nil, false, api.NetworkCreate{Subnet: "10.1.0.0/24", Subnet6: "fd00:1::/64"}, ""},
		{[]string{"10.1.0.0/24"}, nil, true, api.NetworkCreate{Subnet: "10.1.0.0/24", IPv6: true}, ""},
		{[]string{"10.1.0.0/24", "10.2.0.0/24"}, nil, false, api.NetworkCreate{}, "two subnets of one family"},
		{[]string{"10.1.0.0/24"}, []string{"fd00::1"}, true, api.NetworkCreate{}, "no --subnet of its family"},
		{[]string{"10.1.0.0/24"}, []string{"10.1.0.1", "10.1.0.2"}, false, api.NetworkCreate{}, "two gateways"},
		{[]string{"fd00:1::/64"}, nil, false, api.NetworkCreate{}, "IPv6-only networks are not supported yet"},
		{[]string{"10.1.0.0/33"}, nil, false, api.NetworkCreate{Subnet: "10.1.0.0/33"}, ""}, // the daemon refuses it
		{[]string{"10.1.0.0/24"}, []string{"bogus"}, false, api.NetworkCreate{Subnet: "10.1.0.0/24", Gateway: "bogus"}, ""},
	}
	for _, tc := range tests {
		req := api.NetworkCreate{IPv6: tc.ipv6}
		err := splitFamilies(&req, tc.subnets, tc.gateways)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v %v: %v, want %q", tc.subnets, tc.gateways, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(req, tc.want) {
			t.Errorf("%v %v: %+v %v, want %+v", tc.subnets, tc.gateways, req, err, tc.want)
		}
	}
}
