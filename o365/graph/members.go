package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cardbridge/cardbridge/o365/api"
)

// GroupMemberIDs lists the object ids (lower case) of the users among the
// direct members of group groupID (app-only, GroupMember.Read.All), all
// pages of /groups/{id}/members; members that are not users (groups,
// devices) are left out.
func (c *Client) GroupMemberIDs(ctx context.Context, groupID string) ([]string, error) {
	if groupID == "" {
		return nil, errors.New("graph: group members: no group id")
	}
	var ids []string
	_, err := c.pages(ctx, "/groups/"+url.PathEscape(groupID)+"/members?$select=id&$top=999", func(p *api.Page) error {
		for _, raw := range p.Value {
			var m struct {
				ID   string `json:"id"`
				Type string `json:"@odata.type"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("graph: unreadable member of group %s: %w", groupID, err)
			}
			if m.ID != "" && (m.Type == "" || m.Type == "#microsoft.graph.user") {
				ids = append(ids, strings.ToLower(m.ID))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("graph: members of group %s: %w", groupID, err)
	}
	return ids, nil
}
