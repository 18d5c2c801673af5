package pairs

import (
	"strings"
	"testing"
)

// TestUserNameFromUPN: the one naming rule of users made for Microsoft
// identities (a sign-in, a provisioned mailbox).
func TestUserNameFromUPN(t *testing.T) {
	for _, c := range []struct{ upn, mode, want string }{
		{"Alice.Smith@contoso.example", "local-part", "alice.smith"},
		{"Alice.Smith@contoso.example", "", "alice.smith"},
		{"Alice.Smith+x@contoso.example", "upn", "alice.smith+x@contoso.example"},
		{"Ann Lee/<b>@contoso.example", "local-part", "annleeb"},
		{"@contoso.example", "local-part", "user"},
		{"", "upn", "user"},
		{"..x..@y", "local-part", "x"},
		{strings.Repeat("a", 80) + "@y", "local-part", strings.Repeat("a", 56)},
	} {
		if got := UserNameFromUPN(c.upn, c.mode); got != c.want {
			t.Errorf("%q (%s): %q, want %q", c.upn, c.mode, got, c.want)
		}
	}
}
