package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MinPercentAllowed is the fewest deletions a percentage limit allows, so
// that small address books are not blocked by rounding.
const MinPercentAllowed = 5

// Limit is max_delete: a count ("25") or a percentage ("25%").
//
// The zero Limit (Set false) behaves as DefaultLimit.
type Limit struct {
	Count   int     // deletions allowed, when Percent is 0
	Percent float64 // percentage of the side's items (0 < Percent <= 100), or 0 for a count
	Set     bool    // whether the limit holds a value
}

// DefaultLimit is the max_delete used when a pair sets none: 25%.
func DefaultLimit() Limit { return Limit{Percent: 25, Set: true} }

// ParseLimit parses a count ("25"; "0" allows no deletion) or a percentage
// ("25%", "2.5%"; more than 0% and at most 100%). Spaces around the value
// and before "%" are allowed.
func ParseLimit(s string) (Limit, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Limit{}, fmt.Errorf("%q is not a count or a percentage (like 25 or 25%%)", s)
		}
		if f <= 0 || f > 100 {
			return Limit{}, fmt.Errorf("%q is not a percentage above 0%% and at most 100%% (write 0 to allow no deletion)", s)
		}
		return Limit{Percent: f, Set: true}, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return Limit{}, fmt.Errorf("%q is not a count or a percentage (like 25 or 25%%)", s)
	}
	if n < 0 {
		return Limit{}, fmt.Errorf("%q is negative; expected a count or a percentage (like 25 or 25%%)", s)
	}
	return Limit{Count: n, Set: true}, nil
}

// IsPercent reports whether the limit is a percentage.
func (l Limit) IsPercent() bool {
	if !l.Set {
		return true
	}
	return l.Percent > 0
}

// Allowed is how many deletions are allowed on a side holding total items:
// Count for a count limit; for a percentage limit ceil(Percent*total/100),
// but never fewer than MinPercentAllowed.
func (l Limit) Allowed(total int) int {
	if !l.Set {
		l = DefaultLimit()
	}
	if !l.IsPercent() {
		return l.Count
	}
	if total < 0 {
		total = 0
	}
	// The small epsilon keeps 10% of 30 at 3 despite float rounding.
	n := int(math.Ceil(l.Percent*float64(total)/100 - 1e-9))
	return max(n, MinPercentAllowed)
}

// String returns the limit as written in the config: "25" or "25%".
func (l Limit) String() string {
	if !l.Set {
		l = DefaultLimit()
	}
	if l.IsPercent() {
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(l.Count)
}

// MarshalText implements encoding.TextMarshaler (String's form).
func (l Limit) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseLimit).
func (l *Limit) UnmarshalText(b []byte) error {
	v, err := ParseLimit(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
