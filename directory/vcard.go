// Package directory turns an organisation's directory (the users of a
// Microsoft tenant, read with /users/delta and kept in the state, see
// state.DirectoryUser) into vCards for the read-only "Directory" address
// book.
package directory

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// UID is the vCard UID of a directory user: the object id as a URN
// (object ids are GUIDs), the same in every user's copy of the book.
func UID(u state.DirectoryUser) string { return "urn:uuid:" + strings.ToLower(u.ObjectID) }

// Card renders u as a vCard 4.0: UID, FN (the display name, else given
// name and surname, else the e-mail address or UPN), N, EMAIL (the primary
// address with PREF=1, then the others), TEL (business phones as work
// voice, the mobile as cell), TITLE, ORG (company and department), ADR of
// type work with the office as its LABEL and extended address, RELATED
// (TYPE=co-worker, text) naming the manager, PHOTO (a data: URI, as vCard
// 4.0 has it) when there is a photo, and REV from the last change.
// Empty fields give no property.
func Card(u state.DirectoryUser) *vcard.Card {
	c := vcard.New(vcard.V40)
	c.Add(vcard.NewText("UID", UID(u)))
	c.Add(vcard.NewText("KIND", "individual"))
	c.Add(vcard.NewText("FN", fullName(u)))
	c.Add(vcard.NewStructured("N", u.Surname, u.GivenName, "", "", ""))
	seen := map[string]bool{}
	if u.Mail != "" {
		seen[strings.ToLower(u.Mail)] = true
		c.Add(vcard.NewText("EMAIL", u.Mail).WithParam("TYPE", "work").WithParam("PREF", "1"))
	}
	for _, m := range u.OtherMails {
		if m == "" || seen[strings.ToLower(m)] {
			continue
		}
		seen[strings.ToLower(m)] = true
		c.Add(vcard.NewText("EMAIL", m))
	}
	for _, p := range u.BusinessPhones {
		if p != "" {
			c.Add(vcard.NewText("TEL", p).WithParam("TYPE", "work", "voice"))
		}
	}
	if u.MobilePhone != "" {
		c.Add(vcard.NewText("TEL", u.MobilePhone).WithParam("TYPE", "cell"))
	}
	if u.JobTitle != "" {
		c.Add(vcard.NewText("TITLE", u.JobTitle))
	}
	if u.Company != "" || u.Department != "" {
		c.Add(vcard.NewStructured("ORG", u.Company, u.Department))
	}
	if u.Office != "" {
		// one extended-address item: a comma in the office is escaped,
		// not an item separator as NewStructured would take it
		adr := vcard.Property{Name: "ADR", Value: ";" + vcard.NewText("NOTE", u.Office).Value + ";;;;;"}
		c.Add(adr.WithParam("TYPE", "work").WithParam("LABEL", u.Office))
	}
	if u.ManagerName != "" {
		// RELATED is URI-valued by default: build the escaped text value
		// as a text property would, then name it RELATED.
		p := vcard.NewText("NOTE", u.ManagerName)
		p.Name = "RELATED"
		c.Add(p.WithParam("VALUE", "text").WithParam("TYPE", "co-worker"))
	}
	if len(u.Photo) > 0 {
		c.Add(vcard.Property{Name: "PHOTO", Value: "data:" + photoType(u.Photo) + ";base64," + base64.StdEncoding.EncodeToString(u.Photo)})
	}
	if !u.Updated.IsZero() {
		c.Add(vcard.NewText("REV", u.Updated.UTC().Format("20060102T150405Z")))
	}
	return c
}

// photoType is the media type of a profile photo (Graph serves JPEG;
// PNG and GIF are recognised too).
func photoType(p []byte) string {
	switch t := http.DetectContentType(p); t {
	case "image/png", "image/gif", "image/jpeg":
		return t
	}
	return "image/jpeg"
}

// fullName is the FN of u: never empty, as vCard 4.0 requires one.
func fullName(u state.DirectoryUser) string {
	if n := strings.TrimSpace(u.DisplayName); n != "" {
		return n
	}
	if n := strings.TrimSpace(u.GivenName + " " + u.Surname); n != "" {
		return n
	}
	if u.Mail != "" {
		return u.Mail
	}
	if u.UPN != "" {
		return u.UPN
	}
	return u.ObjectID
}
