package pairs

import (
	"context"
	"fmt"
	"io"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
)

// AppPasswordView is one app password of `user app-password list --json`
// and of the web page: its name, when it was made and last used ("" when
// never), never its secret.
type AppPasswordView struct {
	Name     string `json:"name"`
	Created  string `json:"created"`
	LastUsed string `json:"last_used,omitempty"`
}

// AppPasswordViews is ps as they are listed (never nil).
func AppPasswordViews(ps []state.AppPassword) []AppPasswordView {
	out := make([]AppPasswordView, 0, len(ps))
	for _, p := range ps {
		out = append(out, AppPasswordView{Name: p.Name, Created: JSONTime(p.Created), LastUsed: JSONTime(p.LastUsed)})
	}
	return out
}

// AddAppPassword makes app password name for the built-in server's user
// and returns the token, to be shown once (only its hash is kept). The
// errors of state.DB.AddAppPassword come back wrapped: ErrNotFound (no
// such user), ErrExists (the name is taken), ErrTooMany
// (state.MaxAppPasswords), or one naming the bad name.
func (r *Runner) AddAppPassword(ctx context.Context, user, name string) (string, error) {
	if err := CheckUserName(user); err != nil {
		return "", fmt.Errorf("%w: %w", err, state.ErrNotFound)
	}
	tok, _, err := r.o.DB.AddAppPassword(ctx, user, name)
	return tok, err
}

// AppPasswords lists user's app passwords; state.ErrNotFound (wrapped)
// when there is no such user.
func (r *Runner) AppPasswords(ctx context.Context, user string) ([]state.AppPassword, error) {
	if err := CheckUserName(user); err != nil {
		return nil, fmt.Errorf("%w: %w", err, state.ErrNotFound)
	}
	return r.o.DB.AppPasswords(ctx, user)
}

// RevokeAppPassword deletes user's app password name: the device using it
// is refused from its next request. state.ErrNotFound (wrapped) when the
// user has none of that name.
func (r *Runner) RevokeAppPassword(ctx context.Context, user, name string) error {
	if err := CheckUserName(user); err != nil {
		return fmt.Errorf("%w: %w", err, state.ErrNotFound)
	}
	return r.o.DB.RevokeAppPassword(ctx, user, name)
}

// NoAppPasswordsHint is what `user app-password list` says of a user
// without app passwords.
const NoAppPasswordsHint = "no app passwords (make one with `cardbridge user app-password add USER NAME`)"

// WriteAppPasswords writes ps as a table (names escaped), or
// NoAppPasswordsHint when there are none.
func WriteAppPasswords(w io.Writer, ps []state.AppPassword) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, NoAppPasswordsHint)
		return err
	}
	tw := termout.NewTable(w, "NAME", "CREATED", "LAST USED")
	for _, v := range AppPasswordViews(ps) {
		used := v.LastUsed
		if used == "" {
			used = "never"
		}
		tw.Row(termout.Cell(v.Name), v.Created, used)
	}
	return tw.Flush()
}
