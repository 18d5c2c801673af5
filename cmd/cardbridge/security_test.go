//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// Secrets must never reach logs: these end-to-end tests run the built
// binary at --log-level debug, in both log formats, and look for every
// secret that was in play (client secrets, access and refresh tokens as
// the identity platform issued them, CardDAV passwords right and wrong, and
// the Basic credentials they make) in everything it printed.

// secretSet collects the secrets one test put in play.
type secretSet struct {
	mu sync.Mutex
	s  map[string]string // secret -> what it is
}

func (s *secretSet) add(what, secret string) {
	if len(secret) < 8 {
		return // too short to look for without false alarms
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		s.s = map[string]string{}
	}
	s.s[secret] = what
}

// addBasic adds a password with the Basic credentials it makes.
func (s *secretSet) addBasic(what, user, pass string) {
	s.add(what, pass)
	s.add(what+" (Basic credentials)", base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
}

// check fails for every secret found in out.
func (s *secretSet) check(t *testing.T, where, out string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for secret, what := range s.s {
		if strings.Contains(out, secret) {
			i := strings.Index(out, secret)
			t.Errorf("%s: the %s is in the output: …%s…", where, what, out[max(0, i-80):min(len(out), i+len(secret)+20)])
		}
	}
}

func (s *secretSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.s)
}

func randomSecret(t *testing.T, prefix string) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// recordTokens wraps the simulator so that every token it issues, and
// every bearer token and form secret sent to it, lands in secrets.
func recordTokens(t *testing.T, e *simEnv, secrets *secretSet) {
	t.Helper()
	inner := e.sim
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
			secrets.add("access token sent to Graph", strings.TrimPrefix(auth, "Bearer "))
		}
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/oauth2/") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if form, err := url.ParseQuery(string(body)); err == nil {
				for _, k := range []string{"client_secret", "refresh_token", "client_assertion", "code", "device_code", "code_verifier"} {
					secrets.add("form field "+k, form.Get(k))
				}
			}
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		var tok map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &tok) == nil {
			for _, k := range []string{"access_token", "refresh_token", "id_token", "device_code"} {
				if v, ok := tok[k].(string); ok {
					secrets.add("issued "+k, v)
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	e.srv = srv
}

// TestSecretsAbsentFromLogsO365: syncs against graphsim with the
// client-secret flow and with the device flow (a login, then an expired
// access token so the refresh token is used and rotated), at debug level
// in text and JSON: no secret or token appears in any output.
func TestSecretsAbsentFromLogsO365(t *testing.T) {
	for _, flow := range []string{"client-secret", "device"} {
		for _, format := range []string{"text", "json"} {
			t.Run(flow+"/"+format, func(t *testing.T) {
				e := newSim(t, 5)
				var secrets secretSet
				secrets.add("client secret", simSecret)
				recordTokens(t, e, &secrets)
				cfg, b := e.workspace(t, flow, "merge")
				if flow == "device" {
					e.login(t, cfg, false)
				}
				log := []string{"--config", cfg, "--log-level", "debug", "--log-format", format}
				var outs []string
				run := func(args ...string) result {
					r := cb(t, simEnvVars, append(log, args...)...)
					outs = append(outs, r.stdout, r.stderr)
					return r
				}
				if r := run("sync", "--json"); r.code != 0 {
					t.Fatalf("sync: %d %s %s", r.code, r.stdout, r.stderr)
				}
				os.WriteFile(filepath.Join(b, "n.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:sec-new\r\nFN:Sec New\r\nEND:VCARD\r\n"), 0o600)
				e.sim.ExpireAccessTokens()
				if r := run("sync"); r.code != 0 {
					t.Fatalf("second sync: %d %s", r.code, r.stderr)
				}
				run("status")
				run("accounts")
				// A revoked refresh token: the error path must not print it.
				if flow == "device" {
					e.sim.RevokeRefreshTokens("00000000-0000-0000-0000-0000000a11ce")
					e.sim.ExpireAccessTokens()
					if r := run("sync"); r.code != 1 {
						t.Errorf("revoked: exit %d", r.code)
					}
				}
				all := strings.Join(outs, "\n")
				if !strings.Contains(all, "level=DEBUG") && !strings.Contains(all, `"level":"DEBUG"`) {
					t.Fatalf("no debug output to check:\n%s", all)
				}
				// Tokens were issued and used: the check has something to find.
				if n := secrets.count(); n < 3 {
					t.Fatalf("only %d secrets recorded", n)
				}
				secrets.check(t, flow+"/"+format, all)
				if strings.Contains(all, "eyJ") {
					t.Errorf("something JWT-like in the output")
				}
			})
		}
	}
}

// TestSecretsAbsentFromLogsCardDAVAndServe: `cardbridge serve` at debug
// level answers clients that fail and pass Basic auth, and a carddav pair
// syncs with it, its password from password_env and from
// password_command: neither serve's log nor the sync's output holds a
// password, right or wrong, or the Basic credentials.
func TestSecretsAbsentFromLogsCardDAVAndServe(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var secrets secretSet
			dir := t.TempDir()
			pw := randomSecret(t, "right-pw-")
			secrets.addBasic("alice's password", "alice", pw)
			port := freePort(t)
			scfg := filepath.Join(dir, "serve.yaml")
			os.WriteFile(scfg, []byte(fmt.Sprintf("state: %s/serve.db\nserver:\n  listen: 127.0.0.1:%d\n  login_free_failures: 1000\n", dir, port)), 0o600)
			if r := cbStdin(t, pw+"\n", "--config", scfg, "--log-level", "debug", "--log-format", format, "user", "add", "alice"); r.code != 0 {
				t.Fatalf("user add: %s", r.stderr)
			}
			cmd, serveOut := startServe(t, "--config", scfg, "--log-level", "debug", "--log-format", format, "serve")
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			if !testutil.Eventually(10*time.Second, func() bool {
				resp, err := http.Get(base + "/healthz")
				if err == nil {
					resp.Body.Close()
				}
				return err == nil && resp.StatusCode == 200
			}) {
				t.Fatalf("serve did not start:\n%s", serveOut)
			}
			// Clients with wrong passwords, unknown users, then the right one.
			for i := range 3 {
				wrong := randomSecret(t, fmt.Sprintf("wrong-pw-%d-", i))
				for _, user := range []string{"alice", "mallory"} {
					secrets.addBasic("a wrong password", user, wrong)
					req, _ := http.NewRequest("PROPFIND", base+"/addressbooks/alice/contacts/", nil)
					req.SetBasicAuth(user, wrong)
					req.Header.Set("Depth", "1")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusUnauthorized {
						t.Fatalf("wrong password: %d", resp.StatusCode)
					}
				}
			}
			req, _ := http.NewRequest("PUT", base+"/addressbooks/alice/contacts/s.vcf", strings.NewReader("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:sec-1\r\nFN:Sec One\r\nEND:VCARD\r\n"))
			req.SetBasicAuth("alice", pw)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("PUT with the right password: %d", resp.StatusCode)
			}

			// A carddav pair against serve: password_env, then password_command.
			pwFile := filepath.Join(dir, "pw.txt")
			os.WriteFile(pwFile, []byte(pw+"\n"), 0o600)
			var outs []string
			for i, source := range []string{"password_env: DAV_PW", "password_command: cat " + pwFile} {
				v := filepath.Join(dir, fmt.Sprintf("v%d", i))
				os.MkdirAll(v, 0o700)
				ccfg := filepath.Join(dir, fmt.Sprintf("client%d.yaml", i))
				os.WriteFile(ccfg, []byte(fmt.Sprintf("state: %s/client%d.db\npairs:\n  p:\n    a: {type: vdir, path: %s}\n    b: {type: carddav, url: %s/, username: alice, %s, addressbook: contacts}\n",
					dir, i, v, base, source)), 0o600)
				r := cb(t, []string{"DAV_PW=" + pw}, "--config", ccfg, "--log-level", "debug", "--log-format", format, "sync", "--json")
				outs = append(outs, r.stdout, r.stderr)
				if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created") != 1 {
					t.Fatalf("carddav sync (%s): %d %s %s", source, r.code, r.stdout, r.stderr)
				}
				// A wrong password through the same path: a clear error, no secret.
				wrong := randomSecret(t, "wrong-env-pw-")
				secrets.addBasic("a wrong password from the environment", "alice", wrong)
				r = cb(t, []string{"DAV_PW=" + wrong}, "--config", ccfg, "--log-level", "debug", "--log-format", format, "sync")
				outs = append(outs, r.stdout, r.stderr)
				if i == 0 && r.code != 1 {
					t.Errorf("sync with a wrong password: exit %d", r.code)
				}
			}
			if code := stopServe(t, cmd, serveOut); code != 0 {
				t.Fatalf("serve exit %d", code)
			}
			log := serveOut.String()
			if !strings.Contains(log, "DEBUG") {
				t.Fatalf("serve logged no debug lines:\n%s", log)
			}
			secrets.check(t, "serve log", log)
			secrets.check(t, "sync output", strings.Join(outs, "\n"))
		})
	}
}

// TestFifoInVdirDoesNotHangSync: a vdir holding a fifo, a directory
// named *.vcf and links out of the folder syncs the good card with the
// built binary, names the link it cannot read, and neither hangs nor
// touches anything outside the folder.
func TestFifoInVdirDoesNotHangSync(t *testing.T) {
	cfg, a, b, _ := workspace(t, "")
	outside := filepath.Join(t.TempDir(), "secret.vcf")
	secret := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:outside\r\nFN:Outside Secret\r\nEND:VCARD\r\n"
	os.WriteFile(outside, []byte(secret), 0o600)
	os.WriteFile(filepath.Join(a, "good.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:good\r\nFN:Good Card\r\nEND:VCARD\r\n"), 0o600)
	for _, p := range []string{filepath.Join(a, "pipe.vcf"), filepath.Join(b, "pipe.vcf")} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(a, "folder.vcf"), 0o700)
	os.Symlink(outside, filepath.Join(a, "out.vcf"))
	os.Symlink("pipe.vcf", filepath.Join(a, "pipelink.vcf"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for run := range 2 {
		args := []string{"--config", cfg, "sync"}
		if run == 0 {
			args = append(args, "--json")
		}
		cmd := exec.CommandContext(ctx, binary, args...)
		cmd.Env = homeEnv(t)
		r := runCmd(t, cmd)
		if ctx.Err() != nil {
			t.Fatalf("sync %d hung on the fifo (killed after 60 s); stderr:\n%s", run, r.stderr)
		}
		if r.code != 0 {
			t.Fatalf("sync %d: exit %d\n%s\n%s", run, r.code, r.stdout, r.stderr)
		}
		if run == 0 {
			if m := summary(t, r); sideCount(m, "b", "created") != 1 || m["skipped"].(float64) < 1 {
				t.Fatalf("first sync: %s", r.stdout)
			}
		} else if !strings.Contains(r.stderr, "out.vcf") || !strings.Contains(r.stderr, "outside the directory") {
			t.Fatalf("the unreadable link is not named:\n%s", r.stderr)
		}
	}
	// (vcfFiles would block on the fifo: check it is still there, then
	// take it away.)
	if fi, err := os.Lstat(filepath.Join(b, "pipe.vcf")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("b's fifo: %v %v", fi, err)
	}
	os.Remove(filepath.Join(b, "pipe.vcf"))
	files := vcfFiles(t, b)
	if len(files) != 1 {
		t.Fatalf("b holds %v", files)
	}
	for _, raw := range files {
		if !strings.Contains(string(raw), "Good Card") {
			t.Fatalf("b got %s", raw)
		}
	}
	if got, _ := os.ReadFile(outside); string(got) != secret {
		t.Fatalf("the file outside changed: %s", got)
	}
	for _, p := range []string{"good.vcf", "pipe.vcf", "folder.vcf", "out.vcf", "pipelink.vcf"} {
		if _, err := os.Lstat(filepath.Join(a, p)); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}
