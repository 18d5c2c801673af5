package graphsim

import (
	"slices"
	"strings"
)

// grantedScopes are the scopes an authorization of app asking for asked
// grants: asked without the app's Withheld permissions. The OpenID
// Connect scopes (openid, profile, email, offline_access) are never
// withheld, so a sign-in works and only the permissions are missing, as
// at Microsoft when consent to a permission is refused.
func grantedScopes(app *App, asked []string) []string {
	if len(app.Withheld) == 0 {
		return asked
	}
	var out []string
	for _, sc := range asked {
		if slices.ContainsFunc(app.Withheld, func(w string) bool { return strings.EqualFold(w, sc) }) {
			continue
		}
		out = append(out, sc)
	}
	return out
}
