package crash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/vcard"
)

// Radicale is a Radicale server on 127.0.0.1 with no authentication,
// storing in Folder; it can be killed and started again on the same port
// and folder.
type Radicale struct {
	// Bin is the radicale program.
	Bin string
	// Folder is its storage folder.
	Folder string
	// Port it listens on.
	Port int
	cmd  *exec.Cmd
	done chan error
	log  *testutil.LockedBuffer
}

// Root is the server's root URL.
func (r *Radicale) Root() string { return fmt.Sprintf("http://127.0.0.1:%d/", r.Port) }

// Start starts Radicale and waits until it answers.
func (r *Radicale) Start(ctx context.Context) error {
	if r.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return err
		}
		r.Port = p
	}
	r.log = &testutil.LockedBuffer{}
	r.cmd = exec.Command(r.Bin, "--storage-filesystem-folder", r.Folder, "--server-hosts", fmt.Sprintf("127.0.0.1:%d", r.Port), "--auth-type", "none")
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start radicale: %w", err)
	}
	r.done = make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(r.cmd, r.done)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-r.done:
			return fmt.Errorf("start radicale: it exited (%v): %s", err, r.log)
		case <-ctx.Done():
			return fmt.Errorf("start radicale: %w", ctx.Err())
		default:
		}
		res, err := http.Get(r.Root())
		if err == nil {
			res.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("start radicale: not answering after 20 s: %s", r.log)
}

// Kill stops Radicale with SIGKILL.
func (r *Radicale) Kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd = nil
	}
}

// FreePort returns a TCP port free on 127.0.0.1 a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// RadicaleSide is one address book of a Radicale: read from its storage
// folder, written through HTTP like any client.
type RadicaleSide struct {
	R *Radicale
	// Book is the collection path, e.g. "bench/contacts".
	Book string
}

// Name implements Side.
func (s *RadicaleSide) Name() string { return "radicale /" + s.Book + "/" }

func (s *RadicaleSide) dir() string {
	return filepath.Join(s.R.Folder, "collection-root", filepath.FromSlash(s.Book))
}

// List implements Side.
func (s *RadicaleSide) List(ctx context.Context) ([]Item, error) {
	ents, err := os.ReadDir(s.dir())
	if err != nil {
		return nil, fmt.Errorf("list radicale book: %w", err)
	}
	var out []Item
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(s.dir(), e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			// A DELETE the killed run had sent may still finish in
			// Radicale after the kill: the card is gone, not unreadable.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list radicale book: %w", err)
		}
		c, err := vcard.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("list radicale book: %s does not parse: %w", e.Name(), err)
		}
		out = append(out, Item{UID: c.UID(), Ref: e.Name(), Card: c})
	}
	return out, nil
}

func (s *RadicaleSide) do(ctx context.Context, method, name string, body []byte, hdr ...string) error {
	req, err := http.NewRequestWithContext(ctx, method, s.R.Root()+s.Book+"/"+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/vcard; charset=utf-8")
	}
	// With --auth-type none any password is taken; the user owns /bench/.
	req.SetBasicAuth("bench", "pw")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, name, res.StatusCode, msg)
	}
	return nil
}

// SetTitle implements Side.
func (s *RadicaleSide) SetTitle(ctx context.Context, it Item, title string) error {
	c := it.Card.Clone()
	c.Set(vcard.NewText("TITLE", title))
	if err := s.do(ctx, http.MethodPut, it.Ref, c.Encode()); err != nil {
		return fmt.Errorf("edit on radicale: %w", err)
	}
	return nil
}

// Create implements Side.
func (s *RadicaleSide) Create(ctx context.Context, card *vcard.Card) (string, error) {
	if err := s.do(ctx, http.MethodPut, card.UID()+".vcf", card.Encode(), "If-None-Match", "*"); err != nil {
		return "", fmt.Errorf("create on radicale: %w", err)
	}
	return card.UID(), nil
}

// Delete implements Side.
func (s *RadicaleSide) Delete(ctx context.Context, it Item) error {
	if err := s.do(ctx, http.MethodDelete, it.Ref, nil); err != nil {
		return fmt.Errorf("delete on radicale: %w", err)
	}
	return nil
}

// StoreSide is a user's address book in the built-in server's store,
// reached through the state database (as the server itself writes it).
// It is used only while no cardbridge process runs.
type StoreSide struct {
	// DB is the state database path.
	DB string
	// User and Book name the address book.
	User, Book string
}

// Name implements Side.
func (s *StoreSide) Name() string { return "server store " + s.User + "/" + s.Book }

func (s *StoreSide) with(ctx context.Context, op string, fn func(db *state.DB, book int64) error) error {
	db, err := state.Open(ctx, s.DB, state.Options{})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer db.Close()
	b, err := db.AddressBook(ctx, s.User, s.Book)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := fn(db, b.ID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// List implements Side.
func (s *StoreSide) List(ctx context.Context) ([]Item, error) {
	var out []Item
	err := s.with(ctx, "list the server store", func(db *state.DB, book int64) error {
		cards, err := db.Cards(ctx, book)
		if err != nil {
			return err
		}
		for _, c := range cards {
			card, err := vcard.Parse(c.Data)
			if err != nil {
				return fmt.Errorf("%s does not parse: %w", c.Href, err)
			}
			out = append(out, Item{UID: card.UID(), Ref: c.Href, ETag: c.ETag, Card: card})
		}
		return nil
	})
	return out, err
}

// SetTitle implements Side.
func (s *StoreSide) SetTitle(ctx context.Context, it Item, title string) error {
	c := it.Card.Clone()
	c.Set(vcard.NewText("TITLE", title))
	return s.with(ctx, "edit in the server store", func(db *state.DB, book int64) error {
		_, _, err := db.PutCard(ctx, book, it.Ref, it.UID, c.Encode(), state.Precondition{IfMatch: it.ETag})
		return err
	})
}

// Create implements Side.
func (s *StoreSide) Create(ctx context.Context, card *vcard.Card) (string, error) {
	return card.UID(), s.with(ctx, "create in the server store", func(db *state.DB, book int64) error {
		_, _, err := db.PutCard(ctx, book, card.UID()+".vcf", card.UID(), card.Encode(), state.Precondition{IfNoneMatch: true})
		return err
	})
}

// CreateMany adds cards in one open of the database (seeding).
func (s *StoreSide) CreateMany(ctx context.Context, cards []*vcard.Card) error {
	return s.with(ctx, "seed the server store", func(db *state.DB, book int64) error {
		for _, c := range cards {
			if _, _, err := db.PutCard(ctx, book, c.UID()+".vcf", c.UID(), c.Encode(), state.Precondition{IfNoneMatch: true}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Delete implements Side.
func (s *StoreSide) Delete(ctx context.Context, it Item) error {
	return s.with(ctx, "delete in the server store", func(db *state.DB, book int64) error {
		return db.DeleteCard(ctx, book, it.Ref, state.Precondition{IfMatch: it.ETag})
	})
}

// DAVNorm is the content both sides of a CardDAV pair must agree on: the
// whole card, normalised, its revision aside.
func DAVNorm(c *vcard.Card) string {
	p := c.Clone()
	p.Remove("REV")
	p.Remove("PRODID")
	return p.Hash()
}
