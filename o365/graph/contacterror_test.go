package graph

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestContactErrorNamesAccountContactAndCode: the error of a failed contact
// operation names the account, the mailbox, the contact's display name and
// id, the HTTP status, Microsoft's code and the request id, and keeps the
// cause reachable for IsNotFound/IsPrecondition/IsGone/IsThrottled.
func TestContactErrorNamesAccountContactAndCode(t *testing.T) {
	cases := []struct {
		status int
		code   string
		is     func(error) bool
	}{
		{http.StatusNotFound, "ErrorItemNotFound", IsNotFound},
		{http.StatusPreconditionFailed, "ErrorIrresolvableConflict", IsPrecondition},
		{http.StatusGone, "SyncStateNotFound", IsGone},
		{http.StatusTooManyRequests, "ErrorQuotaExceeded", IsThrottled},
		{http.StatusServiceUnavailable, "ServiceUnavailable", IsThrottled},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			body := `{"error":{"code":"` + c.code + `","message":"m","innerError":{"request-id":"req-1"}}}`
			cause := newError(http.MethodPatch, "/v1.0/me/contacts/AAMk1", c.status, nil, []byte(body), "")
			err := error(&ContactError{Account: "work", Mailbox: "ann@example.com", Op: "update", ContactID: "AAMk1", DisplayName: "Ann Lee", Err: cause})
			msg := err.Error()
			for _, want := range []string{`"work"`, "ann@example.com", "update", `"Ann Lee"`, "AAMk1", c.code, "req-1", strconv.Itoa(c.status)} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q lacks %q", msg, want)
				}
			}
			if !c.is(err) {
				t.Errorf("the cause is not reachable through %q", msg)
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Status != c.status {
				t.Errorf("errors.As(*Error) = %v, want status %d", ge, c.status)
			}
		})
	}
}
