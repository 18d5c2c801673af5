package main

import (
	"testing"

	"github.com/cardbridge/cardbridge/bench/davclient"
)

// TestExpectedStatus: what each kind of request may be answered; a 429 is
// never expected (the clients have the right password).
func TestExpectedStatus(t *testing.T) {
	for _, tc := range []struct {
		kind string
		code int
		want bool
	}{
		{davclient.KindSync, 207, true}, {davclient.KindSync, 429, false}, {davclient.KindGet, 200, true}, {davclient.KindGet, 429, false},
		{davclient.KindPut, 412, true}, {davclient.KindPut, 429, false}, {davclient.KindPut, 500, false}, {davclient.KindCreate, 201, true}, {davclient.KindCreate, 412, false},
	} {
		if got := expectedStatus(tc.kind, tc.code); got != tc.want {
			t.Errorf("expectedStatus(%s, %d) = %v, want %v", tc.kind, tc.code, got, tc.want)
		}
	}
}
