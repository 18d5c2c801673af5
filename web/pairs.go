package web

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/cardbridge/cardbridge/config"
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
// pairs.Merge).
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

// userPair is a pair the signed-in user may see.
type userPair struct {
	config.Pair
	Web  bool   // made from the page
	Desc string // "o365 work ⇄ server alice/contacts"
}

// userPairs lists the pairs that involve user's books, as the
// application layer has them (pairs.Runner.UserPairs).
func (h *Handler) userPairs(ctx context.Context, user string) ([]userPair, error) {
	ps, err := h.o.Pairs.UserPairs(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]userPair, 0, len(ps))
	for _, p := range ps {
		out = append(out, userPair{Pair: p.Pair, Web: p.Web, Desc: sideDesc(p.A) + " ⇄ " + sideDesc(p.B)})
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

// sideDesc describes a side in detail, for the line under a pair's
// (which names it by sideNames): "Office 365 account work, default
// folder", "address book alice/contacts", "folder /srv/cards".
func sideDesc(s config.Side) string {
	switch s.Type {
	case config.SideO365:
		f := "default folder"
		if s.Folder != "" {
			f = "folder " + s.Folder
		}
		return "Office 365 account " + s.Account + ", " + f
	case config.SideServer:
		return "address book " + s.User + "/" + s.Addressbook
	case config.SideVdir:
		return "folder " + s.Path
	case config.SideCardDAV:
		return "CardDAV " + s.URL
	}
	return string(s.Type)
}
