package authguard

import (
	"net/http"
	"net/netip"
	"testing"
)

// TestClientAddr: X-Forwarded-For is believed from trusted proxies only,
// and then its right-most untrusted address is the client.
func TestClientAddr(t *testing.T) {
	cases := []struct {
		name    string
		trusted []string
		remote  string
		xff     []string
		want    string
	}{
		{"no proxies: the peer, XFF ignored", nil, "203.0.113.9:4444", []string{"1.2.3.4"}, "203.0.113.9"},
		{"loopback not trusted by default", nil, "127.0.0.1:4444", []string{"1.2.3.4"}, "127.0.0.1"},
		{"trusted peer: the forwarded client", []string{"127.0.0.1"}, "127.0.0.1:4444", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client-written entries on the left are not believed", []string{"127.0.0.1"}, "127.0.0.1:1", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"a chain of trusted proxies", []string{"127.0.0.1", "10.0.0.0/8"}, "127.0.0.1:1", []string{"6.6.6.6, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"several header lines, in order", []string{"10.0.0.0/8"}, "10.0.0.1:1", []string{"6.6.6.6", "198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"every hop trusted: the left-most", []string{"10.0.0.0/8"}, "10.0.0.1:1", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"trusted peer without XFF", []string{"10.0.0.0/8"}, "10.0.0.1:1", nil, "10.0.0.1"},
		{"garbage where the client should be: the last trusted hop", []string{"10.0.0.0/8"}, "10.0.0.1:1", []string{"bogus, 10.0.0.7"}, "10.0.0.7"},
		{"IPv6 with brackets and port", []string{"::1"}, "[::1]:80", []string{"[2001:db8::1]:5555"}, "2001:db8::1"},
		{"IPv4-mapped peer", []string{"127.0.0.1"}, "[::ffff:127.0.0.1]:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"untrusted proxy in the middle stops the walk", []string{"10.0.0.0/8"}, "10.0.0.1:1", []string{"6.6.6.6, 203.0.113.1, 10.0.0.2"}, "203.0.113.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp, err := ParseTrustedProxies(c.trusted)
			if err != nil {
				t.Fatal(err)
			}
			g, err := New(Options{Hashes: fakeHashes{}, TrustedProxies: tp})
			if err != nil {
				t.Fatal(err)
			}
			r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := g.ClientAddr(r); got != netip.MustParseAddr(c.want) {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

// TestParseTrustedProxies refuses what is not an address or prefix,
// naming it.
func TestParseTrustedProxies(t *testing.T) {
	for _, bad := range []string{"localhost", "10.0.0.0/33", "1.2.3", ""} {
		if _, err := ParseTrustedProxies([]string{"10.0.0.1", bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	p, err := ParseTrustedProxies([]string{"10.1.2.3/8", "::1"})
	if err != nil || p[0].String() != "10.0.0.0/8" || p[1].String() != "::1/128" {
		t.Fatalf("%v %v", p, err)
	}
}
