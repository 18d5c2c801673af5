package graph

// What the tests use of the Graph client and production does not: kept
// here, out of the binary (issue 15: no dead code).

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/cardbridge/cardbridge/o365/api"
)

// GetContact reads one contact with the UID property expanded.
func (c *Client) GetContact(ctx context.Context, folderID, id string) (api.Contact, error) {
	var ct api.Contact
	_, _, err := c.Do(ctx, http.MethodGet, c.FolderPath(folderID)+"/"+url.PathEscape(id)+"?"+uidExpand, nil, nil, &ct)
	return ct, err
}

// FindByUID lists the contacts of a folder whose UID property is uid
// (usually none or one), with the property expanded.
func (c *Client) FindByUID(ctx context.Context, folderID, uid string) ([]api.Contact, error) {
	f := "singleValueExtendedProperties/Any(ep: ep/id eq " + odataString(api.UIDPropertyID) + " and ep/value eq " + odataString(uid) + ")"
	return c.listContacts(ctx, c.FolderPath(folderID)+"?$filter="+queryEscape(f)+"&"+uidExpand)
}

// Me reads the mailbox's user: /me, or /users/{mailbox} for app-only.
func (c *Client) Me(ctx context.Context) (api.User, error) {
	var u api.User
	_, _, err := c.Do(ctx, http.MethodGet, "", nil, nil, &u)
	return u, err
}

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// IsThrottled reports whether err is Graph throttling: a 429 or 503 answer,
// including the error given when the wait would exceed Options.MaxWait
// or the retries ran out.
func IsThrottled(err error) bool {
	e, ok := asError(err)
	return ok && (e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable)
}
