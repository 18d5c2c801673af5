package web

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// bookNameRE is what an address book made from the page may be called (it
// becomes part of a URL and of the pair's name).
var bookNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// AccountName is the name of the Office 365 account a web user connects:
// its tokens are stored under it in the state, and the pairs made from the
// page use it. It is "web-" and the user's name escaped as in pairName, so
// that it is lower-case and two users never share it (the configuration
// looks accounts up case-insensitively: "web-Frank" and "web-frank" would
// be one account). A configured account of that name shadows it (see
// MergePairs).
func AccountName(user string) string { return "web-" + escapeUser(user) }

// escapeUser is user with every byte outside [a-z0-9._@+-] written ~xx
// (lower-case hex; URL-safe, unlike %): injective, lower-case, and free of
// ':'.
func escapeUser(user string) string {
	var b strings.Builder
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("._@+-", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "~%02x", c)
		}
	}
	return b.String()
}

// pairName is the name of the pair a user makes for book: "web-", the
// user's name escaped (escapeUser), ":" and the book. No escaped user
// name holds ':' and no book name holds ':' or '.', so two users' names
// never collide (gina/x-y is web-gina:x-y, gina-x/y is web-gina-x:y), case
// alone never makes two names (config looks pairs up case-insensitively),
// and the ".2" suffix state.CreateWebPair adds to a name whose state is
// left over cannot meet another book's name. Pairs made before this scheme
// keep their old names (web-USER-BOOK), which hold no ':' and so meet no
// new one.
func pairName(user, book string) string { return "web-" + escapeUser(user) + ":" + book }

// MergePairs returns cfg with the pairs made from the web page (in db)
// added, and the accounts they use (server.connect's app under
// AccountName); cfg itself is not changed. A web pair whose name is taken by
// a configured pair, or whose account name is taken by a configured
// account, is left out and reported in skipped.
func MergePairs(ctx context.Context, db *state.DB, cfg *config.Config) (out *config.Config, skipped []string, err error) {
	wps, err := db.WebPairs(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("web pairs: %w", err)
	}
	c := *cfg
	c.Pairs = maps.Clone(cfg.Pairs)
	c.Accounts = maps.Clone(cfg.Accounts)
	if c.Pairs == nil {
		c.Pairs = map[string]config.Pair{}
	}
	if c.Accounts == nil {
		c.Accounts = map[string]config.Account{}
	}
	for _, wp := range wps {
		if wp.Name != strings.ToLower(wp.Name) || wp.Account != strings.ToLower(wp.Account) {
			// Made by a cardbridge before issue 13 for a user with upper-case
			// letters: looked up case-insensitively, its account would be
			// another user's (web-Frank is web-frank).
			skipped = append(skipped, fmt.Sprintf("web pair %s: its name or its account %s has upper-case letters (made by an older cardbridge); its user should disconnect and connect Office 365 again on the web page", wp.Name, wp.Account))
			continue
		}
		if _, taken := cfg.Pairs[wp.Name]; taken {
			skipped = append(skipped, fmt.Sprintf("web pair %s: a configured pair has that name", wp.Name))
			continue
		}
		if _, taken := cfg.Accounts[wp.Account]; taken {
			skipped = append(skipped, fmt.Sprintf("web pair %s: a configured account is called %s", wp.Name, wp.Account))
			continue
		}
		if !cfg.Server.Connect.Configured() {
			skipped = append(skipped, fmt.Sprintf("web pair %s: server.connect is not configured", wp.Name))
			continue
		}
		c.Accounts[wp.Account] = cfg.Server.Connect.Account(wp.Account)
		c.Pairs[wp.Name] = webPairConfig(wp)
	}
	return &c, skipped, nil
}

// webPairConfig is the configuration of a web-made pair: the account's
// folder (a) with the user's book (b), two-way, its conflict policy, 25%
// max_delete.
func webPairConfig(wp state.WebPair) config.Pair {
	if wp.Conflict == "" {
		wp.Conflict = "merge"
	}
	return config.Pair{
		Name:      wp.Name,
		A:         config.Side{Type: "o365", Account: wp.Account, Folder: wp.Folder},
		B:         config.Side{Type: "server", User: wp.User, Addressbook: wp.Addressbook},
		Direction: "two-way",
		Conflict:  wp.Conflict,
		MaxDelete: config.DefaultLimit(),
		Every:     wp.Every,
	}
}

// userPair is a pair the signed-in user may see.
type userPair struct {
	config.Pair
	Web  bool   // made from the page
	Desc string // "o365 work ⇄ server alice/contacts"
}

// userPairs lists the pairs that involve user's books: configured pairs
// with a {type: server, user: user} side and the user's web-made pairs.
func (h *Handler) userPairs(ctx context.Context, user string) ([]userPair, error) {
	var out []userPair
	cfg := h.o.Config
	for _, n := range cfg.PairNames() {
		p, _ := cfg.Pair(n)
		if (p.A.Type == "server" && p.A.User == user) || (p.B.Type == "server" && p.B.User == user) {
			out = append(out, userPair{Pair: p, Desc: sideDesc(p.A) + " ⇄ " + sideDesc(p.B)})
		}
	}
	wps, err := h.o.DB.WebPairs(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, wp := range wps {
		if _, taken := cfg.Pairs[wp.Name]; taken {
			continue
		}
		p := webPairConfig(wp)
		out = append(out, userPair{Pair: p, Web: true, Desc: sideDesc(p.A) + " ⇄ " + sideDesc(p.B)})
	}
	return out, nil
}

// ownsPair reports whether pair involves user's books.
func (h *Handler) ownsPair(ctx context.Context, user, pair string) (bool, error) {
	ps, err := h.userPairs(ctx, user)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		if p.Name == pair {
			return true, nil
		}
	}
	return false, nil
}

// sideDesc describes a side in a few words.
func sideDesc(s config.Side) string {
	switch s.Type {
	case "o365":
		f := s.Folder
		if f == "" {
			f = "default folder"
		}
		return "Office 365 " + s.Account + " (" + f + ")"
	case "server":
		return "address book " + s.User + "/" + s.Addressbook
	case "vdir":
		return "folder " + s.Path
	case "carddav":
		return "CardDAV " + s.URL
	}
	return s.Type
}
