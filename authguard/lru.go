package authguard

import "container/list"

// lru is a map of at most max entries that drops the least recently used
// one when full. It is not safe for concurrent use (Guard holds its mutex).
type lru[V any] struct {
	max   int
	order *list.List // front: most recently used; values *lruEntry[V]
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns key's value if it is there and fresh(value) holds; a stale
// value is removed.
func (l *lru[V]) get(key string, fresh func(V) bool) (V, bool) {
	var zero V
	e, ok := l.items[key]
	if !ok {
		return zero, false
	}
	v := e.Value.(*lruEntry[V]).val
	if !fresh(v) {
		l.order.Remove(e)
		delete(l.items, key)
		return zero, false
	}
	l.order.MoveToFront(e)
	return v, true
}

// put sets key's value, dropping the least recently used entry when the
// map is full.
func (l *lru[V]) put(key string, v V) {
	if e, ok := l.items[key]; ok {
		e.Value.(*lruEntry[V]).val = v
		l.order.MoveToFront(e)
		return
	}
	if l.order.Len() >= l.max {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.items, old.Value.(*lruEntry[V]).key)
	}
	l.items[key] = l.order.PushFront(&lruEntry[V]{key: key, val: v})
}

// remove deletes key.
func (l *lru[V]) remove(key string) {
	if e, ok := l.items[key]; ok {
		l.order.Remove(e)
		delete(l.items, key)
	}
}

// len is the number of entries.
func (l *lru[V]) len() int { return l.order.Len() }
