package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/o365/api"
)

// ErrDirectoryTokenExpired is wrapped by the error of UsersDelta when
// Graph no longer knows the delta token (410, SyncStateNotFound, …): the
// caller throws the token away and starts a full round with "".
var ErrDirectoryTokenExpired = errors.New("graph: directory delta token expired; a full round is needed")

// usersDeltaFirst is the first request of a full users delta round: the
// properties a directory address book needs and the manager's id.
const usersDeltaFirst = "/users/delta?$select=" + api.UserDirectorySelect + "&$expand=manager"

// UsersDelta runs one whole round of the tenant's /users/delta (app-only,
// User.Read.All). token "" starts a full round; otherwise token is the
// deltaLink a previous round returned. It follows nextLinks (pages may be
// empty or, in a full round, repeat a user) to the deltaLink and returns
// every entry in order: the caller merges them by id, later over earlier.
// In a round after a full one, a changed user carries only its changed
// properties and a removed one only its id and Removed. An expired token
// gives an error wrapping ErrDirectoryTokenExpired.
func (c *Client) UsersDelta(ctx context.Context, token string) (changes []api.DirectoryUser, nextToken string, err error) {
	link := token
	if link == "" {
		link = usersDeltaFirst
	}
	nextToken, err = c.pages(ctx, link, func(p *api.Page) error {
		if p.NextLink == "" && p.DeltaLink == "" {
			return errors.New("graph: users delta page has neither nextLink nor deltaLink")
		}
		for _, raw := range p.Value {
			var u api.DirectoryUser
			if err := json.Unmarshal(raw, &u); err != nil {
				return fmt.Errorf("graph: unreadable user in users delta: %w", err)
			}
			if u.ID == "" {
				return errors.New("graph: user without an id in users delta")
			}
			changes = append(changes, u)
		}
		return nil
	})
	if err != nil {
		if IsGone(err) {
			return nil, "", fmt.Errorf("%w: %w", ErrDirectoryTokenExpired, err)
		}
		return nil, "", err
	}
	return changes, nextToken, nil
}
