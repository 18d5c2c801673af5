package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseRetention parses a trash_retention: a number of days ("30d"), a Go
// duration ("36h", "90m"), or "0" / "off" for no age limit. Negative
// values are refused.
func ParseRetention(s string) (time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	bad := fmt.Errorf("%q is not a retention (like 30d or 36h, or off)", s)
	switch t {
	case "0", "off", "false", "no", "none":
		return 0, nil
	case "":
		return 0, bad
	}
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.ParseFloat(strings.TrimSpace(days), 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n > 100*365 {
			return 0, bad
		}
		if n < 0 {
			return 0, fmt.Errorf("%q is negative (write off to keep the trash whatever its age)", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, bad
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative (write off to keep the trash whatever its age)", s)
	}
	return d, nil
}

// ParseSize parses a trash_max_size: bytes ("5000000"), or a number with
// a unit, decimal (kB, MB, GB: 1000-based) or binary (KiB, MiB, GiB:
// 1024-based), or "0" / "off" for no cap. Units are case-insensitive and
// "B" may be left out ("100M"). Negative values are refused.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	bad := fmt.Errorf("%q is not a size (like 100MB, 1GiB or 5000000 bytes, or off)", s)
	switch t {
	case "0", "off", "false", "no", "none":
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"ki", 1 << 10}, {"mi", 1 << 20}, {"gi", 1 << 30}, {"ti", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
		{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12}, {"b", 1},
	}
	num, mult := t, 1.0
	for _, u := range units {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, bad
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative (write off for no cap)", s)
	}
	if f*mult >= math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	n := int64(f * mult)
	if n == 0 && f > 0 {
		return 0, fmt.Errorf("%q is less than a byte (write off for no cap)", s)
	}
	return n, nil
}

// parseRetention reads a trash_retention value as YAML gives it.
func parseRetention(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		return ParseRetention(x)
	case bool:
		if !x {
			return 0, nil
		}
	case int:
		if x == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("%d has no unit (write %dd for days, or off)", x, x)
	}
	return 0, fmt.Errorf("expected a retention (like 30d or 36h, or off), got %s", describe(v))
}

// parseSize reads a trash_max_size value as YAML gives it (a bare integer
// is bytes).
func parseSize(v any) (int64, error) {
	switch x := v.(type) {
	case string:
		return ParseSize(x)
	case bool:
		if !x {
			return 0, nil
		}
	case int:
		if x < 0 {
			return 0, fmt.Errorf("%d is negative (write off for no cap)", x)
		}
		return int64(x), nil
	case int64:
		if x < 0 {
			return 0, fmt.Errorf("%d is negative (write off for no cap)", x)
		}
		return x, nil
	}
	return 0, fmt.Errorf("expected a size (like 100MB, or off), got %s", describe(v))
}

// ParseAge parses the value of flag, an age of the trash's entries that
// must be positive (as `trash purge --older-than` takes): what
// ParseRetention takes but its "off" and 0. "" is no age (0, no error).
func ParseAge(flag, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := ParseRetention(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", flag, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s %s: must be a positive age (1s purges every entry older than a second)", flag, s)
	}
	return d, nil
}
