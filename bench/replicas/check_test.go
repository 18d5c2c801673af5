package main

import "testing"

// TestExpectedStatus: what each kind of request may be answered; a 429 is
// never expected (the clients have the right password).
func TestExpectedStatus(t *testing.T) {
	for _, tc := range []struct {
		kind string
		code int
		want bool
	}{
		{kindSync, 207, true}, {kindSync, 429, false}, {kindGet, 200, true}, {kindGet, 429, false},
		{kindPut, 412, true}, {kindPut, 429, false}, {kindPut, 500, false}, {kindCreate, 201, true}, {kindCreate, 412, false},
	} {
		if got := expectedStatus(tc.kind, tc.code); got != tc.want {
			t.Errorf("expectedStatus(%s, %d) = %v, want %v", tc.kind, tc.code, got, tc.want)
		}
	}
}
