package state

import (
	"reflect"
	"testing"
)

// TestInList: the IN clause has one placeholder per value, and appendArgs
// puts the values after the arguments already there.
func TestInList(t *testing.T) {
	for n, want := range map[int]string{1: "(?)", 2: "(?, ?)", 4: "(?, ?, ?, ?)"} {
		if got := inList(n); got != want {
			t.Errorf("inList(%d) = %q, want %q", n, got, want)
		}
	}
	if got, want := appendArgs([]any{int64(7)}, []string{"a", "b"}), []any{int64(7), "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("appendArgs = %v, want %v", got, want)
	}
	if got, want := appendArgs(nil, []int64{1, 2}), []any{int64(1), int64(2)}; !reflect.DeepEqual(got, want) {
		t.Errorf("appendArgs = %v, want %v", got, want)
	}
}
