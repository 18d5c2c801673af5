// Package memside is an in-memory sync side: the engine's cheapest test
// bed. It stores each contact's encoded text, so it parses on every read
// like a real side, and it can be edited directly by tests as a user
// would edit a real store.
package mem

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

var (
	_ engine.Side       = (*Side)(nil)
	_ engine.Identifier = (*Side)(nil)
)

type item struct {
	raw []byte
	ver int64
	mod time.Time
}

// Side is an in-memory side. It is safe for concurrent use.
type Side struct {
	name string
	mu   sync.Mutex
	// identity replaces "mem NAME" as the side's identity when set.
	identity string
	seq      int64
	ids      int64
	m        map[string]item
}

// New returns an empty side named name.
func New(name string) *Side {
	return &Side{name: name, m: make(map[string]item)}
}

// Identity is "mem NAME", or what SetIdentity set. It never fails.
func (s *Side) Identity(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.identity != "" {
		return s.identity, nil
	}
	return "mem " + s.name, nil
}

// SetIdentity makes the side state identity instead of "mem NAME" (a
// test points it elsewhere; a dry run stands it in for a side not created
// yet).
func (s *Side) SetIdentity(identity string) {
	s.mu.Lock()
	s.identity = identity
	s.mu.Unlock()
}

// Name returns "mem NAME".
func (s *Side) Name() string { return "mem " + s.name }

func (s *Side) next() int64 { s.seq++; return s.seq }

// List returns every item's ref, sorted by id.
func (s *Side) List(ctx context.Context) ([]engine.Ref, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]engine.Ref, 0, len(s.m))
	for id, it := range s.m {
		out = append(out, engine.Ref{ID: id, Version: strconv.FormatInt(it.ver, 10)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Get parses the given items.
func (s *Side) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]engine.Item, len(ids))
	for i, id := range ids {
		it, ok := s.m[id]
		if !ok {
			out[i] = engine.Item{Ref: engine.Ref{ID: id}, Err: fmt.Errorf("%s: %w", id, engine.ErrNotFound)}
			continue
		}
		out[i] = engine.Item{Ref: engine.Ref{ID: id, Version: strconv.FormatInt(it.ver, 10)}, ModTime: it.mod}
		c, err := vcard.Parse(it.raw)
		if err != nil {
			out[i].Err = fmt.Errorf("%s: %w", id, err)
		} else {
			out[i].Card = c
		}
	}
	return out, nil
}

// Create stores card under a new id.
func (s *Side) Create(ctx context.Context, card *vcard.Card) (engine.Ref, error) {
	if err := ctx.Err(); err != nil {
		return engine.Ref{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids++
	id := fmt.Sprintf("item-%06d", s.ids)
	for _, ok := s.m[id]; ok; _, ok = s.m[id] {
		s.ids++
		id = fmt.Sprintf("item-%06d", s.ids)
	}
	v := s.next()
	s.m[id] = item{raw: card.Encode(), ver: v, mod: time.Now()}
	return engine.Ref{ID: id, Version: strconv.FormatInt(v, 10)}, nil
}

// Update replaces an item if its version is ref.Version.
func (s *Side) Update(ctx context.Context, ref engine.Ref, card *vcard.Card) (engine.Ref, error) {
	if err := ctx.Err(); err != nil {
		return engine.Ref{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[ref.ID]
	if !ok {
		return engine.Ref{}, fmt.Errorf("update %s: %w", ref.ID, engine.ErrPrecondition)
	}
	if strconv.FormatInt(it.ver, 10) != ref.Version {
		return engine.Ref{}, fmt.Errorf("update %s: %w", ref.ID, engine.ErrPrecondition)
	}
	v := s.next()
	s.m[ref.ID] = item{raw: card.Encode(), ver: v, mod: time.Now()}
	return engine.Ref{ID: ref.ID, Version: strconv.FormatInt(v, 10)}, nil
}

// Delete removes an item if its version is ref.Version.
func (s *Side) Delete(ctx context.Context, ref engine.Ref) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[ref.ID]
	if !ok {
		return nil
	}
	if strconv.FormatInt(it.ver, 10) != ref.Version {
		return fmt.Errorf("delete %s: %w", ref.ID, engine.ErrPrecondition)
	}
	delete(s.m, ref.ID)
	return nil
}

// Put sets an item's text directly, as a user editing the store would,
// and bumps its version.
func (s *Side) Put(id string, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = item{raw: append([]byte(nil), raw...), ver: s.next(), mod: time.Now()}
}

// Remove deletes an item directly.
func (s *Side) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// Raw returns an item's text.
func (s *Side) Raw(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[id]
	return it.raw, ok
}

// Snapshot returns every item's text by id.
func (s *Side) Snapshot() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.m))
	for id, it := range s.m {
		out[id] = it.raw
	}
	return out
}

// Clone returns an independent copy of the side (same ids and versions).
func (s *Side) Clone() *Side {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Side{name: s.name, seq: s.seq, ids: s.ids, m: make(map[string]item, len(s.m))}
	for id, it := range s.m {
		c.m[id] = it
	}
	return c
}
