package engine

import "reflect"

// CapabilityTypes returns the optional capability interfaces a side may
// implement, in the order they are declared in side.go: every interface
// declared there except Side itself. Wrappers of sides (such as
// sidetest.Faults) use it to forward exactly the capabilities the
// wrapped side has; a test keeps it in step with side.go.
func CapabilityTypes() []reflect.Type {
	return []reflect.Type{
		reflect.TypeFor[Changer](),
		reflect.TypeFor[Projector](),
		reflect.TypeFor[Flusher](),
		reflect.TypeFor[Concurrency](),
		reflect.TypeFor[Prefetcher](),
		reflect.TypeFor[Identifier](),
		reflect.TypeFor[Closer](),
	}
}

// SideCapabilities returns the names of the capability interfaces s
// implements, in CapabilityTypes order.
func SideCapabilities(s Side) []string {
	var out []string
	v := reflect.TypeOf(s)
	for _, c := range CapabilityTypes() {
		if v != nil && v.Implements(c) {
			out = append(out, c.Name())
		}
	}
	return out
}
