package graph

import (
	"context"
	"net/http"
	"net/url"
)

// UserPhoto reads the profile photo of directory user id (app-only,
// User.Read.All) through the client's one retry and pacing path: nil, nil
// when the user has none (404).
func (c *Client) UserPhoto(ctx context.Context, id string) ([]byte, error) {
	_, b, err := c.Do(ctx, http.MethodGet, "/users/"+url.PathEscape(id)+"/photo/$value", http.Header{"Accept": {"image/*"}}, nil, nil)
	if err != nil {
		if IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return b, nil
}
