package retry

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestIdempotent(t *testing.T) {
	im := http.Header{"If-Match": {`"1"`}}
	for _, tt := range []struct {
		method string
		hdr    http.Header
		want   bool
	}{
		{"GET", nil, true}, {"head", nil, true}, {"PUT", nil, true}, {"PROPFIND", nil, true}, {"REPORT", nil, true},
		{"DELETE", nil, false}, {"DELETE", im, true}, {"PATCH", nil, false}, {"PATCH", im, true},
		{"POST", nil, false}, {"POST", im, false}, {"MKCOL", nil, false},
	} {
		if got := Idempotent(tt.method, tt.hdr); got != tt.want {
			t.Errorf("Idempotent(%s, %v) = %v, want %v", tt.method, tt.hdr, got, tt.want)
		}
	}
}

func TestAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"soon", 0, false}, {"7", 7 * time.Second, true}, {" 2.5 ", 2500 * time.Millisecond, true},
		{"-3", 0, true}, {"NaN", 0, true}, {"1e30", 1e6 * time.Second, true},
		{"Mon, 07 Dec 2026 08:00:30 GMT", 30 * time.Second, true},
		{"Mon, 07 Dec 2026 07:00:00 GMT", 0, true},
	} {
		got, ok := After(tt.v, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("After(%q) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		n        int
		j        float64
		min, max time.Duration
	}{
		{0, 0, 500 * time.Millisecond, 500 * time.Millisecond},
		{0, 0.999, 500 * time.Millisecond, time.Second},
		{3, 0.5, 6 * time.Second, 6 * time.Second},  // 8 s jittered to 6 s
		{10, 0, 30 * time.Second, 30 * time.Second}, // capped at 1 min, then halved
		{200, 0.2, 30 * time.Second, time.Minute},   // no overflow
		{-1, 0.5, 45 * time.Second, 45 * time.Second},
		{1, 7, 1500 * time.Millisecond, 1500 * time.Millisecond}, // j out of range: 0.5
	} {
		got := Backoff(tt.n, time.Second, time.Minute, tt.j)
		if got < tt.min || got > tt.max {
			t.Errorf("Backoff(%d, j=%v) = %v, want in [%v, %v]", tt.n, tt.j, got, tt.min, tt.max)
		}
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled context: %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep: %v", err)
	}
}
