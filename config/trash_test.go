package config

import (
	"strings"
	"testing"
	"time"
)

func TestTrashKeys(t *testing.T) {
	const day = 24 * time.Hour
	pairs := "pairs:\n  w:\n    a: {type: vdir, path: /a}\n    b: {type: vdir, path: /b}\n%s  v:\n    a: {type: vdir, path: /c}\n    b: {type: vdir, path: /d}\n"
	with := func(top, pair string) string {
		return top + strings.Replace(pairs, "%s", pair, 1)
	}
	tests := []struct {
		name      string
		yaml      string
		env       []string
		top, w, v Trash
	}{
		{"defaults", with("", ""), nil, DefaultTrash(), DefaultTrash(), DefaultTrash()},
		{"top level for every pair", with("trash_retention: 7d\ntrash_max_size: 5MB\n", ""), nil,
			Trash{7 * day, 5_000_000}, Trash{7 * day, 5_000_000}, Trash{7 * day, 5_000_000}},
		{"a pair's key wins, the other comes from the top", with("trash_retention: 7d\n", "    trash_max_size: 1GiB\n"), nil,
			Trash{7 * day, 100_000_000}, Trash{7 * day, 1 << 30}, Trash{7 * day, 100_000_000}},
		{"off and 0", with("trash_retention: off\ntrash_max_size: 0\n", "    trash_retention: 36h\n"), nil,
			Trash{0, 0}, Trash{36 * time.Hour, 0}, Trash{0, 0}},
		{"bare integer size is bytes; fractional days", with("trash_max_size: 123456\ntrash_retention: 1.5d\n", ""), nil,
			Trash{36 * time.Hour, 123456}, Trash{36 * time.Hour, 123456}, Trash{36 * time.Hour, 123456}},
		{"environment", with("", ""), []string{"CARDBRIDGE_TRASH_RETENTION=2d", "CARDBRIDGE_PAIRS_W_TRASH_MAX_SIZE=10kB"},
			Trash{2 * day, 100_000_000}, Trash{2 * day, 10_000}, Trash{2 * day, 100_000_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, tt.yaml), true, append([]string{"HOME=" + home}, tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Trash != tt.top || cfg.TrashOf("w") != tt.w || cfg.TrashOf("v") != tt.v || cfg.TrashOf("gone") != tt.top {
				t.Errorf("trash: top %+v, w %+v, v %+v, unknown pair %+v; want %+v, %+v, %+v, %+v",
					cfg.Trash, cfg.TrashOf("w"), cfg.TrashOf("v"), cfg.TrashOf("gone"), tt.top, tt.w, tt.v, tt.top)
			}
		})
	}
}

func TestTrashKeysRefused(t *testing.T) {
	pair := "pairs:\n  w:\n    a: {type: vdir, path: /a}\n    b: {type: vdir, path: /b}\n"
	tests := []struct{ yaml, key, msg string }{
		{"trash_retention: forever\n", "trash_retention", `"forever" is not a retention (like 30d or 36h, or off)`},
		{"trash_retention: -3d\n", "trash_retention", `"-3d" is negative (write off to keep the trash whatever its age)`},
		{"trash_retention: 30\n", "trash_retention", `30 has no unit (write 30d for days, or off)`},
		{"trash_max_size: lots\n", "trash_max_size", `"lots" is not a size (like 100MB, 1GiB or 5000000 bytes, or off)`},
		{"trash_max_size: -1\n", "trash_max_size", `-1 is negative (write off for no cap)`},
		{"trash_max_size: 0.1B\n", "trash_max_size", `"0.1B" is less than a byte (write off for no cap)`},
		{pair + "    trash_max_size: 5XB\n", "pairs.w.trash_max_size", `"5XB" is not a size (like 100MB, 1GiB or 5000000 bytes, or off)`},
		{pair + "    trash_retenton: 5d\n", "pairs.w.trash_retenton", `unknown key (did you mean trash_retention?)`},
	}
	for _, tt := range tests {
		_, err := Load(writeConfig(t, tt.yaml), true, []string{"HOME=" + home})
		if err == nil {
			t.Errorf("%q accepted", tt.yaml)
			continue
		}
		ps := problems(t, err)
		if len(ps) != 1 || ps[0].Key != tt.key || ps[0].Msg != tt.msg {
			t.Errorf("%q: problems %+v, want %s: %s", tt.yaml, ps, tt.key, tt.msg)
		}
	}
}

// TestParseAge: a positive age as ParseRetention reads it, none for "",
// and "off", 0 and bad values refused naming the flag.
func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"", 0, ""},
		{"30d", 30 * 24 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"off", 0, "--older-than off: must be a positive age"},
		{"0", 0, "--older-than 0: must be a positive age"},
		{"soon", 0, `--older-than: "soon" is not a retention`},
		{"-1d", 0, `--older-than: "-1d" is negative`},
	} {
		got, err := ParseAge("--older-than", tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("ParseAge(%q): %v, want an error starting %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
