package demo

import (
	"fmt"
	"net"
	"strings"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/web"
)

// Beyond reports whether host:port listen accepts connections from other
// machines (any address but a loopback one).
func Beyond(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// LANAddresses lists the addresses of this machine that another one on the
// same network may reach: the unicast IPv4 addresses of the interfaces
// that are up, then their global IPv6 ones, loopback and link-local left
// out. An error listing the interfaces gives none.
func LANAddresses() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var v4, v6 []string
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() || !n.IP.IsGlobalUnicast() {
				continue
			}
			if n.IP.To4() != nil {
				v4 = append(v4, n.IP.String())
			} else {
				v6 = append(v6, n.IP.String())
			}
		}
	}
	return append(v4, v6...)
}

// networkAddrs are the hosts a phone may use for a server listening on
// listen: the machine's LAN addresses when it listens on every interface
// (lan), the one it listens on otherwise; none on loopback.
func networkAddrs(listen string, lan func() []string) []string {
	if !Beyond(listen) {
		return nil
	}
	host, _, _ := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return lan()
	}
	return []string{host}
}

// localBase is the URL this machine reaches a server listening on listen
// at: its address, or the loopback one when it listens on every
// interface.
func localBase(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// PhoneURLs are the server's URLs for a phone on the same network, one per
// address of Workspace.Phones; none when the demo listens on loopback only.
func (w *Workspace) PhoneURLs() []string {
	_, port, _ := net.SplitHostPort(w.Listen)
	var out []string
	for _, h := range w.Phones {
		out = append(out, "http://"+net.JoinHostPort(h, port))
	}
	return out
}

// PhoneText is what the demo prints for phones: where a phone on the same
// network connects and sets itself up (the web page's phone setup of the
// demo's book), or, listening on loopback only, that a phone cannot reach
// it and how to let it. It never gives a phone a loopback address.
func (w *Workspace) PhoneText() string {
	var b strings.Builder
	if !Beyond(w.Listen) {
		b.WriteString("Phones: this demo listens on this computer only, so a phone cannot reach it.\n")
		b.WriteString("To set up a phone on the same network, start it with --listen 0.0.0.0:5232\n")
		b.WriteString("(plain HTTP: only on a network you trust).\n")
		return b.String()
	}
	urls := w.PhoneURLs()
	if len(urls) == 0 {
		fmt.Fprintf(&b, "Phones: the demo listens on %s, but this computer has no network address a\nphone could use (no network interface is up).\n", w.Listen)
		return b.String()
	}
	b.WriteString("Phones on the same network (plain HTTP, no TLS: only on a network you trust):\n")
	for i, u := range urls {
		label := "Server URL:"
		if i > 0 {
			label = "or:"
		}
		fmt.Fprintf(&b, "  %-14s %s/\n", label, u)
	}
	fmt.Fprintf(&b, "  %-14s %s%sbooks/%s/phone  (sign in there: iPhone profile, QR code for DAVx5)\n",
		"Phone setup:", urls[0], web.Prefix, state.DefaultAddressBook)
	return b.String()
}
