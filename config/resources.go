package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// CheckResources checks what a loaded configuration points at outside
// itself, so that a run does not start and then fail at its first use:
// the variable of every password_env is set in env (as os.Environ gives
// it), every password_file, client_secret_file, certificate_file,
// ca_file, tls_cert and tls_key can be read, and every vdir side's
// directory exists unless the side says create: true (vdirsyncer's
// rule). It returns nil or an *Error with one problem per key, like Load.
// (Load itself does not look at the file system beyond the config file.)
func CheckResources(cfg *Config, env []string) error {
	d := &resourceCheck{env: envMap(env)}
	d.check(cfg)
	if len(d.probs) == 0 {
		return nil
	}
	return &Error{File: cfg.File, Problems: d.probs}
}

// resourceCheck collects the problems of CheckResources.
type resourceCheck struct {
	env   map[string]string
	probs []Problem
}

func (d *resourceCheck) add(key, format string, args ...any) {
	d.probs = append(d.probs, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (d *resourceCheck) check(cfg *Config) {
	for _, name := range sortedKeys(cfg.Accounts) {
		acc := cfg.Accounts[name]
		base := "accounts." + name
		d.checkFile(base+".client_secret_file", acc.ClientSecretFile)
		d.checkFile(base+".certificate_file", acc.CertificateFile)
	}
	for _, name := range sortedKeys(cfg.Pairs) {
		p := cfg.Pairs[name]
		for _, side := range []struct {
			key string
			s   Side
		}{{"a", p.A}, {"b", p.B}} {
			d.checkSide("pairs."+name+"."+side.key, side.s)
		}
	}
	d.checkFile("server.microsoft_sign_in.certificate_file", cfg.Server.MicrosoftSignIn.CertificateFile)
	d.checkFile("server.tls_cert", cfg.Server.TLSCert)
	d.checkFile("server.tls_key", cfg.Server.TLSKey)
}

// checkSide checks the resources of the side at base.
func (d *resourceCheck) checkSide(base string, s Side) {
	switch s.Type {
	case SideVdir:
		if s.Path == "" {
			return // reported as required
		}
		// Only a missing directory: one that is not a directory, or
		// cannot be read, fails that pair's run (and shows on /healthz).
		if _, err := os.Stat(s.Path); errors.Is(err, fs.ErrNotExist) && !s.Create {
			d.add(base+".path", "the directory %s does not exist (make it, or set create: true on this side to have the first sync make it)", s.Path)
		}
	case SideCardDAV:
		if s.PasswordEnv != "" && envRE.MatchString(s.PasswordEnv) {
			if _, set := d.env[s.PasswordEnv]; !set {
				d.add(base+".password_env", "the environment variable %s is not set (it holds the password of %s)", s.PasswordEnv, s.URL)
			}
		}
		d.checkFile(base+".password_file", s.PasswordFile)
		d.checkFile(base+".ca_file", s.CAFile)
	}
}

// checkFile checks that the file at path (the value of key; "" when not
// set) exists, is a file and can be read.
func (d *resourceCheck) checkFile(key, path string) {
	if path == "" {
		return
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.add(key, "%s: no such file", path)
		return
	case err != nil:
		d.add(key, "%s cannot be read: %v", path, pathErr(err))
		return
	case fi.IsDir():
		d.add(key, "%s is a directory, not a file", path)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		d.add(key, "%s cannot be read: %v", path, pathErr(err))
		return
	}
	f.Close()
}

// pathErr is the cause of a path error, without the path said already.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
