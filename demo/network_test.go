package demo

import (
	"slices"
	"strings"
	"testing"
)

// TestPhoneText: on loopback the demo tells phones they cannot reach it
// and how to let them; listening on every interface it lists the LAN
// addresses (a specific address: that one) with the phone setup page; it
// never gives a phone a loopback address.
func TestPhoneText(t *testing.T) {
	lan := func() []string { return []string{"192.168.1.20", "fd00::2"} }
	cases := []struct {
		listen   string
		local    string
		phones   []string
		has, not []string
	}{
		{"127.0.0.1:5232", "http://127.0.0.1:5232", nil,
			[]string{"a phone cannot reach it", "--listen 0.0.0.0:5232"}, []string{"Server URL:"}},
		{"localhost:5232", "http://localhost:5232", nil, []string{"a phone cannot reach it"}, nil},
		{"0.0.0.0:5232", "http://127.0.0.1:5232", []string{"192.168.1.20", "fd00::2"},
			[]string{"Phones on the same network (plain HTTP", "  Server URL:    http://192.168.1.20:5232/\n", "  or:            http://[fd00::2]:5232/\n",
				"  Phone setup:   http://192.168.1.20:5232/ui/books/contacts/phone  (sign in there"}, nil},
		{"[::]:5232", "http://[::1]:5232", []string{"192.168.1.20", "fd00::2"}, []string{"http://[fd00::2]:5232/"}, nil},
		{"10.0.0.7:5232", "http://10.0.0.7:5232", []string{"10.0.0.7"}, []string{"  Server URL:    http://10.0.0.7:5232/\n"}, []string{"or:"}},
	}
	for _, tc := range cases {
		t.Run(tc.listen, func(t *testing.T) {
			w := &Workspace{Listen: tc.listen, Phones: networkAddrs(tc.listen, lan)}
			if w.BaseURL() != tc.local || !slices.Equal(w.Phones, tc.phones) {
				t.Fatalf("base %s phones %q, want %s %q", w.BaseURL(), w.Phones, tc.local, tc.phones)
			}
			text := w.PhoneText()
			for _, s := range tc.has {
				if !strings.Contains(text, s) {
					t.Errorf("lacks %q:\n%s", s, text)
				}
			}
			for _, s := range append(tc.not, "127.0.0.1", "::1", "localhost") {
				if strings.Contains(text, s) {
					t.Errorf("says %q to phones:\n%s", s, text)
				}
			}
		})
	}
	w := &Workspace{Listen: "0.0.0.0:5232", Phones: networkAddrs("0.0.0.0:5232", func() []string { return nil })}
	if text := w.PhoneText(); !strings.Contains(text, "no network address a\nphone could use") {
		t.Errorf("no LAN address:\n%s", text)
	}
}

// TestLANAddresses: no loopback or link-local address is listed.
func TestLANAddresses(t *testing.T) {
	for _, a := range LANAddresses() {
		if strings.HasPrefix(a, "127.") || a == "::1" || strings.HasPrefix(a, "fe80:") || strings.HasPrefix(a, "169.254.") {
			t.Errorf("listed %s", a)
		}
	}
}
