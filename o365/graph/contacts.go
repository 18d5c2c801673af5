package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cardbridge/cardbridge/o365/api"
)

// maxPages bounds one listing or delta round (a loop guard).
const maxPages = 1 << 20

// MaxPhotoSize is the largest photo one PUT may carry.
const MaxPhotoSize = 4 << 20

// uidExpand is the query option that reads cardbridge's extended
// properties (the UID and the vCard spelling).
var uidExpand = "$expand=" + queryEscape(api.ExpandProperties)

// queryEscape escapes a query value (spaces as %20, which OData wants).
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// pageHeader asks for big pages.
func (c *Client) pageHeader() http.Header {
	return http.Header{"Prefer": {"odata.maxpagesize=" + strconv.Itoa(c.pageSize)}}
}

// pages GETs first and follows its nextLinks (on the Graph host only),
// calling fn for every page. It returns the last page's deltaLink.
func (c *Client) pages(ctx context.Context, first string, fn func(p *api.Page) error) (string, error) {
	link := first
	seen := map[string]bool{}
	for n := 0; n < maxPages; n++ {
		var p api.Page
		if _, _, err := c.Do(ctx, http.MethodGet, link, c.pageHeader(), nil, &p); err != nil {
			return "", err
		}
		if err := fn(&p); err != nil {
			return "", err
		}
		if p.NextLink == "" {
			return p.DeltaLink, nil
		}
		if seen[p.NextLink] {
			return "", errors.New("graph: paging: Graph sent the same nextLink twice")
		}
		seen[p.NextLink] = true
		link = p.NextLink
	}
	return "", fmt.Errorf("graph: paging: more than %d pages", maxPages)
}

// FolderPath returns a folder's contacts path relative to the mailbox
// root: "contacts" for the default folder (id ""),
// "contactFolders/{id}/contacts" otherwise.
func (c *Client) FolderPath(folderID string) string {
	if folderID == "" {
		return "contacts"
	}
	return "contactFolders/" + url.PathEscape(folderID) + "/contacts"
}

// Folders lists the mailbox's contact folders (/contactFolders, which
// leaves out the default folder) and their child folders recursively.
// A child's DisplayName is its path: "Parent/Child".
func (c *Client) Folders(ctx context.Context) ([]api.ContactFolder, error) {
	var out []api.ContactFolder
	seen := map[string]bool{}
	var walk func(path, prefix string, depth int) error
	walk = func(path, prefix string, depth int) error {
		if depth > 32 {
			return errors.New("graph: contact folders nested more than 32 deep")
		}
		var level []api.ContactFolder
		_, err := c.pages(ctx, path, func(p *api.Page) error {
			for _, raw := range p.Value {
				var f api.ContactFolder
				if err := json.Unmarshal(raw, &f); err != nil {
					return fmt.Errorf("graph: unreadable contact folder: %w", err)
				}
				if f.ID == "" || seen[f.ID] {
					continue
				}
				seen[f.ID] = true
				f.DisplayName = prefix + f.DisplayName
				level = append(level, f)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, f := range level {
			out = append(out, f)
			if err := walk("contactFolders/"+url.PathEscape(f.ID)+"/childFolders", f.DisplayName+"/", depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk("contactFolders", "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// Delta runs one whole delta round of a folder ("" is the default one).
// link "" starts a new round (with $select of selectFields when given);
// otherwise link is the deltaLink of the last round. It follows nextLinks
// (pages may be empty) until the deltaLink and returns every page's items
// as raw JSON (deleted ones carry "@removed"). An expired link gives an
// error for which IsGone is true: start a new round with link "".
func (c *Client) Delta(ctx context.Context, folderID, link string, selectFields []string) (items []json.RawMessage, deltaLink string, err error) {
	if link == "" {
		link = c.FolderPath(folderID) + "/delta"
		if len(selectFields) > 0 {
			link += "?$select=" + queryEscape(strings.Join(selectFields, ","))
		}
	}
	deltaLink, err = c.pages(ctx, link, func(p *api.Page) error {
		items = append(items, p.Value...)
		if p.NextLink == "" && p.DeltaLink == "" {
			return errors.New("graph: delta page has neither nextLink nor deltaLink")
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return items, deltaLink, nil
}

// listContacts pages through path and decodes the contacts.
func (c *Client) listContacts(ctx context.Context, path string) ([]api.Contact, error) {
	var out []api.Contact
	_, err := c.pages(ctx, path, func(p *api.Page) error {
		for _, raw := range p.Value {
			var ct api.Contact
			if err := json.Unmarshal(raw, &ct); err != nil {
				return fmt.Errorf("graph: unreadable contact: %w", err)
			}
			out = append(out, ct)
		}
		return nil
	})
	return out, err
}

// ListContacts lists every contact of a folder ("" is the default one)
// with the UID extended property (api.UIDPropertyID) expanded.
func (c *Client) ListContacts(ctx context.Context, folderID string) ([]api.Contact, error) {
	return c.listContacts(ctx, c.FolderPath(folderID)+"?"+uidExpand)
}

// ListVersions lists the id and changeKey of every contact of a folder
// ("" is the default one): "$select=id,changeKey" keeps the pages small.
// It is how a side learns what changed where contact delta is missing
// (the China cloud): one request per page of the folder.
func (c *Client) ListVersions(ctx context.Context, folderID string) ([]api.Contact, error) {
	return c.listContacts(ctx, c.FolderPath(folderID)+"?$select=id,changeKey")
}

// GetPhoto reads a contact's photo; contactPath is the contact's path
// relative to the mailbox root ("contacts/ID"). A contact without photo
// (404) gives nil, nil.
func (c *Client) GetPhoto(ctx context.Context, contactPath string) ([]byte, error) {
	_, b, err := c.Do(ctx, http.MethodGet, strings.TrimSuffix(contactPath, "/")+"/photo/$value",
		http.Header{"Accept": {"image/*"}}, nil, nil)
	if err != nil {
		if IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return b, nil
}

// PutPhoto sets a contact's photo (JPEG, at most MaxPhotoSize).
func (c *Client) PutPhoto(ctx context.Context, contactPath string, jpeg []byte) error {
	if len(jpeg) == 0 {
		return errors.New("graph: empty photo")
	}
	if len(jpeg) > MaxPhotoSize {
		return fmt.Errorf("graph: photo of %d bytes is over Graph's %d-byte limit", len(jpeg), MaxPhotoSize)
	}
	_, _, err := c.Do(ctx, http.MethodPut, strings.TrimSuffix(contactPath, "/")+"/photo/$value",
		http.Header{"Content-Type": {"image/jpeg"}}, jpeg, nil)
	return err
}
