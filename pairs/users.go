package pairs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cardbridge/cardbridge/state"
	"golang.org/x/crypto/bcrypt"
)

// Password limits of the built-in server's users (`cardbridge user
// add|passwd`).
const (
	// MinPassword is the shortest password accepted.
	MinPassword = 8
	// MaxPassword is the longest: bcrypt reads only the first 72 bytes,
	// so a longer password would be accepted with anything after byte 72
	// changed.
	MaxPassword = 72
)

// CheckUserName refuses a user name that is not safe in URLs and paths:
// 1 to 64 letters, digits and . _ @ + -, not starting with a dot.
func CheckUserName(n string) error {
	ok := n != "" && len(n) <= 64 && n[0] != '.'
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("user name %q: use 1 to 64 letters, digits and . _ @ + - (not starting with a dot)", n)
	}
	return nil
}

// CheckPassword refuses a password shorter than MinPassword or longer than
// MaxPassword bytes.
func CheckPassword(pw string) error {
	if len(pw) < MinPassword {
		return fmt.Errorf("the password must have at least %d characters", MinPassword)
	}
	if len(pw) > MaxPassword {
		return fmt.Errorf("the password is %d bytes long (UTF-8); passwords are hashed with bcrypt, which uses only the first %d bytes, so longer ones are refused: choose one of at most %d bytes", len(pw), MaxPassword, MaxPassword)
	}
	return nil
}

// SetUser stores the bcrypt hash of password pw for user name of the
// built-in server: a new user (add), who starts with the address book
// state.DefaultAddressBook, or a new password for an existing one. The
// errors of state.DB.AddUser (ErrExists) and SetUserPassword (ErrNotFound)
// come back wrapped as they are.
func (r *Runner) SetUser(ctx context.Context, name, pw string, add bool) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	if err := CheckPassword(pw); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hashing the password of %s: %w", name, err)
	}
	if add {
		return r.o.DB.AddUser(ctx, name, string(hash))
	}
	return r.o.DB.SetUserPassword(ctx, name, string(hash))
}

// RemoveUser removes the built-in server's user name and everything of
// theirs (state.DB.RemoveUser: books, web sessions, web connection and
// pairs, and those pairs' state). An unknown user is state.ErrNotFound; a
// sync of one of their pairs in progress is an error wrapping
// state.ErrLocked that says nothing was changed.
func (r *Runner) RemoveUser(ctx context.Context, name string) error {
	err := r.o.DB.RemoveUser(ctx, name)
	if errors.Is(err, state.ErrLocked) {
		return fmt.Errorf("user %s is not removed (nothing was changed): %w; try again when that sync ends", name, err)
	}
	return err
}
