package o365

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/vcard"
)

// FormatPropertyID is the single-value extended property that keeps, with
// the contact on the Office 365 side, the vCard spelling of the values
// Office 365 holds when it differs from the plain form ToVCard would write:
// an e-mail's TYPE parameters and Apple item group, a telephone's
// TYPE=WORK,VOICE, an address whose post-office box, extended address and
// street were joined into Graph's one street field, a 4.0 tel: URI... It
// lets Project keep whole vCard properties (which the engine's fill needs:
// see docs/mapping.md, "Why a hidden format property"). Its value is JSON
// written by FromVCard and read by ToVCard; a contact that never went
// through cardbridge simply has none.
const FormatPropertyID = api.FormatPropertyID

// ExtendedPropertyIDs are the single-value extended properties the mapping
// reads (ToVCard) and writes (FromVCard). A reader must expand both, see
// ExpandExtendedProperties.
var ExtendedPropertyIDs = []string{api.UIDPropertyID, FormatPropertyID}

// ExpandExtendedProperties returns the $expand query value that reads the
// mapping's extended properties with a contact:
// singleValueExtendedProperties($filter=id eq '…' or id eq '…').
// A contact read without them maps to a card without UID and in plain
// spelling, which the engine then sees as changed.
func ExpandExtendedProperties() string { return api.ExpandProperties }

// Limits of the Graph contact resource the mapping respects. Values past
// them stay on the vCard side.
const (
	// MaxEmails is the most e-mail addresses a contact holds (a 4th is HTTP 400).
	MaxEmails = 3
	// MaxBusinessPhones is the most business phones a contact holds.
	MaxBusinessPhones = 2
	// MaxHomePhones is the most home phones a contact holds.
	MaxHomePhones = 2
	// MaxIMAddresses is the most IM addresses (Outlook's IM address 1 to 3).
	MaxIMAddresses = 3
	// MaxPhotoBytes is the largest photo one PUT …/photo/$value accepts.
	MaxPhotoBytes = 4 << 20
	// maxFormatBytes bounds the format property's value; entries that do
	// not fit are left out (their properties then come back in plain form).
	maxFormatBytes = 32 << 10
)

// Birthdays outside these years stay on the vCard side (Exchange keeps
// dates from 1601; 4501-01-01 is its "no date").
const (
	minBirthYear = 1601
	maxBirthYear = 4500
)

// Field names: one per Graph field (or field element, "email#0") a vCard
// property can be assigned to. They tie the properties FromVCard consumed
// to the properties ToVCard writes back for the same field.
const (
	fDisplayName = "displayName"
	fName        = "name" // surname, givenName, middleName, title, generation
	fNickName    = "nickName"
	fOrg         = "org" // companyName, department
	fJobTitle    = "jobTitle"
	fProfession  = "profession"
	fEmail       = "emailAddresses#"
	fMobile      = "mobilePhone"
	fBusiness    = "businessPhones#"
	fHome        = "homePhones#"
	fHomeAddr    = "homeAddress"
	fBusAddr     = "businessAddress"
	fOtherAddr   = "otherAddress"
	fHomePage    = "businessHomePage"
	fIM          = "imAddresses#"
	fBirthday    = "birthday"
	fCategories  = "categories"
	fNotes       = "personalNotes"
	fSpouse      = "spouseName"
	fManager     = "manager"
	fAssistant   = "assistantName"
	fChild       = "children#"
	fYomiGiven   = "yomiGivenName"
	fYomiSurname = "yomiSurname"
	fYomiCompany = "yomiCompanyName"
	fFileAs      = "fileAs"
	fInitials    = "initials"
	fOffice      = "officeLocation"
	fPhoto       = "photo"
	fUID         = "uid"
)

// The vCard property names ToVCard writes for Graph fields that have no
// standard vCard property. FromVCard also reads the alternatives listed
// in docs/mapping.md.
const (
	propSpouse      = "X-SPOUSE"
	propManager     = "X-MANAGER"
	propAssistant   = "X-ASSISTANT"
	propChild       = "X-CHILD"
	propYomiGiven   = "X-PHONETIC-FIRST-NAME"
	propYomiSurname = "X-PHONETIC-LAST-NAME"
	propYomiCompany = "X-PHONETIC-ORG"
	propFileAs      = "X-MS-FILE-AS"
	propInitials    = "X-MS-INITIALS"
	propOffice      = "X-MS-OFFICE-LOCATION"
	// paramEmailName carries an e-mail address's Graph "name" (Outlook's
	// "Display as") on the EMAIL property.
	paramEmailName = "X-NAME"
)

// IsGroup reports whether card is a contact group (4.0 KIND:group or
// Apple's X-ADDRESSBOOKSERVER-KIND:group). Office 365 contacts cannot be
// groups: the o365 side refuses them and the group stays on the vCard side.
func IsGroup(card *vcard.Card) bool {
	if card == nil {
		return false
	}
	for _, p := range card.Props {
		if (p.Name == "KIND" || p.Name == "X-ADDRESSBOOKSERVER-KIND") && strings.EqualFold(strings.TrimSpace(p.Text()), "group") {
			return true
		}
	}
	return false
}

// ToVCard converts a Graph contact to a vCard 3.0 card: the UID comes from
// the extended property api.UIDPropertyID when present, REV from
// lastModifiedDateTime, PHOTO from photo (may be nil), and every property
// whose vCard spelling FromVCard recorded in the FormatPropertyID extended
// property is written in that spelling as long as its value is still the
// one recorded. See docs/mapping.md for the field-by-field table.
func ToVCard(c api.Contact, photo []byte) *vcard.Card {
	card := vcard.New(vcard.V30)
	format := readFormat(c)
	for _, f := range canonical(c, photo) {
		props := f.props
		if f.field != fPhoto {
			if alt, ok := format.take(keyHash(props)); ok {
				props = alt
			}
		}
		card.Props = append(card.Props, props...)
	}
	if t, err := time.Parse(time.RFC3339, c.LastModifiedDateTime); err == nil {
		card.Add(vcard.NewText("REV", t.UTC().Format("20060102T150405Z")))
	}
	return card
}

// FromVCard converts a card to the Graph contact to POST or PATCH. Every
// field Office 365 can hold is set, to a value or to empty (an empty
// string, an empty array, an empty address), so that a PATCH also removes
// what the card no longer has (ContactJSON writes empties as null, [] and
// an address of nulls). displayName is always set (from FN, else composed
// from the name, company or first e-mail; never invented). The UID goes to
// the api.UIDPropertyID extended property, the vCard spelling of the values
// to FormatPropertyID. photo is the embedded PHOTO decoded (3.0 ENCODING=b or
// 4.0 data: URI), nil when there is none or it is larger than MaxPhotoBytes;
// a PHOTO URL is never fetched.
func FromVCard(card *vcard.Card) (c api.Contact, photo []byte) {
	a := assign(card)
	c = a.c
	if uid := card.UID(); uid != "" && a.src[fUID] != nil {
		c.SingleValueExtendedProperties = append(c.SingleValueExtendedProperties, api.ExtendedProperty{ID: api.UIDPropertyID, Value: uid})
	}
	c.SingleValueExtendedProperties = append(c.SingleValueExtendedProperties, api.ExtendedProperty{ID: FormatPropertyID, Value: a.format(card)})
	return c, a.photo
}

// Project returns the part of card that Office 365 holds, as
// ToVCard(FromVCard(card)) gives it back, in the card's own version: the
// card's own properties that FromVCard puts into a Graph field (whole,
// with their parameters and groups, since FormatPropertyID keeps their
// spelling), plus an FN composed from N when the card has none. The engine
// keeps every other property on the vCard side. Project is idempotent.
func Project(card *vcard.Card) *vcard.Card {
	a := assign(card)
	out := vcard.New(card.Version)
	if a.fn != nil {
		out.Props = append(out.Props, *a.fn)
	}
	for i, p := range card.Props {
		if a.used[i] {
			out.Props = append(out.Props, cloneProp(p))
		}
	}
	return out
}

func cloneProp(p vcard.Property) vcard.Property {
	c := vcard.New(vcard.V30)
	c.Props = []vcard.Property{p}
	return c.Clone().Props[0]
}

// ---------------------------------------------------------------------
// vCard -> Graph: which property goes to which field

// assignment is the outcome of reading a card: the contact, the photo, and
// which of the card's properties went to which Graph field.
type assignment struct {
	c     api.Contact
	photo []byte
	// src maps a field name to the indices (into the card's Props) of the
	// properties it was made from, in card order.
	src  map[string][]int
	used []bool
	// fn is the FN composed for a card that has none (or an empty one).
	fn *vcard.Property
}

// phone kinds.
const (
	telOther = iota // fax, pager, main, custom labels...: vCard only
	telMobile
	telWork
	telHome
	telUntyped
)

// appleLabel maps Apple's standard X-ABLabel values to what they classify.
var appleLabel = map[string]string{
	"_$!<mobile>!$_":    "cell",
	"_$!<work>!$_":      "work",
	"_$!<home>!$_":      "home",
	"_$!<spouse>!$_":    "spouse",
	"_$!<partner>!$_":   "spouse",
	"_$!<manager>!$_":   "manager",
	"_$!<assistant>!$_": "assistant",
	"_$!<child>!$_":     "child",
}

// fieldRule is one row of docs/mapping.md's field table: the Graph fields
// a vCard property is read into, the property (its main name; read may
// accept others, listed in the doc), and read, which takes what the rule
// needs from the card into the contact and records in src which
// properties went there (what the format property keeps for the round
// trip). The rules run in table order: a property taken by one is not
// offered to the next.
type fieldRule struct {
	graph []string
	vcard string
	read  func(r *reader)
}

// fieldRules is the vCard → Graph mapping, in the order assign applies it.
// TestFieldRulesMatchDoc checks it against docs/mapping.md.
var fieldRules = []fieldRule{
	{[]string{"cardbridgeUid"}, "UID", func(r *reader) { r.first(fUID, named("UID")) }},
	{[]string{"displayName"}, "FN", (*reader).readFN},
	{[]string{"surname", "givenName", "middleName", "title", "generation"}, "N", (*reader).readN},
	{[]string{"nickName"}, "NICKNAME", (*reader).readNickName},
	{[]string{"companyName", "department"}, "ORG", (*reader).readOrg},
	{[]string{"jobTitle"}, "TITLE", func(r *reader) { r.c.JobTitle = r.first(fJobTitle, named("TITLE")) }},
	{[]string{"profession"}, "ROLE", func(r *reader) { r.c.Profession = r.first(fProfession, named("ROLE")) }},
	{[]string{"emailAddresses"}, "EMAIL", (*reader).readEmails},
	{[]string{"mobilePhone", "businessPhones", "homePhones"}, "TEL", (*reader).readPhones},
	{[]string{"homeAddress", "businessAddress", "otherAddress"}, "ADR", (*reader).readAddresses},
	{[]string{"businessHomePage"}, "URL", (*reader).readHomePage},
	{[]string{"imAddresses"}, "IMPP", (*reader).readIM},
	{[]string{"birthday"}, "BDAY", (*reader).readBirthday},
	{[]string{"categories"}, "CATEGORIES", (*reader).readCategories},
	{[]string{"personalNotes"}, "NOTE", func(r *reader) { r.c.PersonalNotes = r.first(fNotes, named("NOTE")) }},
	{[]string{"spouseName"}, propSpouse, func(r *reader) {
		r.c.SpouseName = r.relation(fSpouse, "spouse", propSpouse, "X-EVOLUTION-SPOUSE", "X-KADDRESSBOOK-X-SPOUSENAME")
	}},
	{[]string{"manager"}, propManager, func(r *reader) {
		r.c.Manager = r.relation(fManager, "manager", propManager, "X-EVOLUTION-MANAGER", "X-KADDRESSBOOK-X-MANAGERSNAME")
	}},
	{[]string{"assistantName"}, propAssistant, func(r *reader) {
		r.c.AssistantName = r.relation(fAssistant, "assistant", propAssistant, "X-EVOLUTION-ASSISTANT", "X-KADDRESSBOOK-X-ASSISTANTSNAME")
	}},
	{[]string{"children"}, propChild, (*reader).readChildren},
	{[]string{"yomiGivenName"}, propYomiGiven, func(r *reader) { r.c.YomiGivenName = r.first(fYomiGiven, named(propYomiGiven)) }},
	{[]string{"yomiSurname"}, propYomiSurname, func(r *reader) { r.c.YomiSurname = r.first(fYomiSurname, named(propYomiSurname)) }},
	{[]string{"yomiCompanyName"}, propYomiCompany, func(r *reader) {
		r.c.YomiCompanyName = r.first(fYomiCompany, named(propYomiCompany))
	}},
	{[]string{"fileAs"}, propFileAs, func(r *reader) { r.c.FileAs = r.first(fFileAs, named(propFileAs, "X-EVOLUTION-FILE-AS")) }},
	{[]string{"initials"}, propInitials, func(r *reader) { r.c.Initials = r.first(fInitials, named(propInitials)) }},
	{[]string{"officeLocation"}, propOffice, func(r *reader) {
		r.c.OfficeLocation = r.first(fOffice, named(propOffice, "X-OFFICE-LOCATION"))
	}},
	{[]string{"photo"}, "PHOTO", (*reader).readPhoto},
	// The format property is not read from one vCard property: assignment's
	// format method writes it from what src says is left over.
	{[]string{"cardbridgeFormat"}, "", nil},
}

// reader is the state of one assign: the card's properties (as 3.0), the
// Apple label of each item group, and the assignment being filled.
type reader struct {
	*assignment
	c     *api.Contact
	card  *vcard.Card // as given, for samePhoto
	props []vcard.Property
	// labels: Apple item group -> index of its X-ABLabel.
	labels map[string]int
	fn     string
}

func assign(card *vcard.Card) *assignment {
	conv := card
	if card.Version != vcard.V30 {
		conv = card.ConvertTo(vcard.V30) // one property for one: indices match
	}
	props := conv.Props
	a := &assignment{src: make(map[string][]int), used: make([]bool, len(props))}
	r := &reader{assignment: a, c: &a.c, card: card, props: props, labels: make(map[string]int)}
	for i, p := range props {
		if p.Name == "X-ABLABEL" && p.Group != "" {
			if _, ok := r.labels[strings.ToLower(p.Group)]; !ok {
				r.labels[strings.ToLower(p.Group)] = i
			}
		}
	}
	for _, rule := range fieldRules {
		if rule.read != nil {
			rule.read(r)
		}
	}
	r.finish()
	return a
}

// take records that property i went to field.
func (r *reader) take(field string, i int) {
	r.src[field] = append(r.src[field], i)
	r.used[i] = true
}

// stdLabel returns what an Apple standard label on p's group says, and the
// label's index.
func (r *reader) stdLabel(p vcard.Property) (string, int) {
	if p.Group == "" {
		return "", -1
	}
	li, ok := r.labels[strings.ToLower(p.Group)]
	if !ok {
		return "", -1
	}
	return appleLabel[strings.ToLower(strings.TrimSpace(r.props[li].Text()))], li
}

// customLabel reports whether p's group has an Apple label that is not a
// standard one.
func (r *reader) customLabel(p vcard.Property) bool {
	if p.Group == "" {
		return false
	}
	li, ok := r.labels[strings.ToLower(p.Group)]
	return ok && appleLabel[strings.ToLower(strings.TrimSpace(r.props[li].Text()))] == "" && r.props[li].Text() != ""
}

// first assigns the first unused property that match accepts to field.
func (r *reader) first(field string, match func(p vcard.Property) (string, bool)) *string {
	for i, p := range r.props {
		if r.used[i] {
			continue
		}
		if v, ok := match(p); ok {
			r.take(field, i)
			return &v
		}
	}
	return nil
}

// named matches a non-empty property of one of names.
func named(names ...string) func(p vcard.Property) (string, bool) {
	return func(p vcard.Property) (string, bool) {
		if !slices.Contains(names, p.Name) {
			return "", false
		}
		t := p.Text()
		return t, t != ""
	}
}

// readFN takes the first FN, even when empty, since ToVCard always writes
// one.
func (r *reader) readFN() {
	for i, p := range r.props {
		if p.Name == "FN" {
			r.take(fDisplayName, i)
			r.fn = p.Text()
			return
		}
	}
}

// readN takes the first N, even when empty, component by component.
func (r *reader) readN() {
	var nf []string
	for i, p := range r.props {
		if p.Name == "N" {
			r.take(fName, i)
			nf = p.Fields()
			break
		}
	}
	nf = append(nf, make([]string, 5)...)
	c := r.c
	c.Surname, c.GivenName, c.MiddleName, c.Title, c.Generation = &nf[0], &nf[1], &nf[2], &nf[3], &nf[4]
}

func (r *reader) readNickName() {
	r.c.NickName = r.first(fNickName, func(p vcard.Property) (string, bool) {
		if p.Name != "NICKNAME" {
			return "", false
		}
		v := strings.Join(nonEmpty(p.List()), ", ")
		return v, v != ""
	})
}

func (r *reader) readOrg() {
	i := firstIndex(r.props, r.used, "ORG")
	if i < 0 {
		return
	}
	f := r.props[i].Fields()
	company := f[0]
	dept := strings.Join(f[1:], "; ")
	if company != "" || dept != "" {
		r.take(fOrg, i)
		r.c.CompanyName, r.c.Department = &company, &dept
	}
}

// readEmails takes the three first by preference (PREF=n, TYPE=pref), then
// in card order.
func (r *reader) readEmails() {
	type cand struct {
		i    int
		rank int
	}
	var emails []cand
	for i, p := range r.props {
		if p.Name == "EMAIL" && strings.TrimSpace(p.Text()) != "" {
			emails = append(emails, cand{i, prefRank(p)})
		}
	}
	sort.SliceStable(emails, func(x, y int) bool { return emails[x].rank < emails[y].rank })
	c := r.c
	c.EmailAddresses = []api.EmailAddress{}
	for _, e := range emails {
		if len(c.EmailAddresses) == MaxEmails {
			break
		}
		p := r.props[e.i]
		r.take(fEmail+strconv.Itoa(len(c.EmailAddresses)), e.i)
		name := ""
		if v := p.Param(paramEmailName); len(v) > 0 {
			name = strings.Join(v, ",")
		}
		c.EmailAddresses = append(c.EmailAddresses, api.EmailAddress{Name: name, Address: p.Text()})
	}
}

// readPhones takes typed telephones first, then untyped ones into the
// business and home slots left.
func (r *reader) readPhones() {
	c := r.c
	c.BusinessPhones, c.HomePhones = []string{}, []string{}
	var untyped []int
	for i, p := range r.props {
		if p.Name != "TEL" || strings.TrimSpace(p.Text()) == "" {
			continue
		}
		kind, label := telKind(p, r.stdLabel, r.customLabel)
		takeTel := func(field string) {
			r.take(field, i)
			if label >= 0 {
				r.take(field, label)
			}
		}
		switch kind {
		case telMobile:
			if c.MobilePhone == nil {
				v := p.Text()
				c.MobilePhone = &v
				takeTel(fMobile)
			}
		case telWork:
			if len(c.BusinessPhones) < MaxBusinessPhones {
				takeTel(fBusiness + strconv.Itoa(len(c.BusinessPhones)))
				c.BusinessPhones = append(c.BusinessPhones, p.Text())
			}
		case telHome:
			if len(c.HomePhones) < MaxHomePhones {
				takeTel(fHome + strconv.Itoa(len(c.HomePhones)))
				c.HomePhones = append(c.HomePhones, p.Text())
			}
		case telUntyped:
			untyped = append(untyped, i)
		}
	}
	for _, i := range untyped {
		switch {
		case len(c.BusinessPhones) < MaxBusinessPhones:
			r.take(fBusiness+strconv.Itoa(len(c.BusinessPhones)), i)
			c.BusinessPhones = append(c.BusinessPhones, r.props[i].Text())
		case len(c.HomePhones) < MaxHomePhones:
			r.take(fHome+strconv.Itoa(len(c.HomePhones)), i)
			c.HomePhones = append(c.HomePhones, r.props[i].Text())
		}
	}
}

// readAddresses takes one address each of work, home and any other.
func (r *reader) readAddresses() {
	c := r.c
	for i, p := range r.props {
		if p.Name != "ADR" || isBlank(p.Value) {
			continue
		}
		field, slot := fOtherAddr, &c.OtherAddress
		switch {
		case p.HasType("work"):
			field, slot = fBusAddr, &c.BusinessAddress
		case p.HasType("home"):
			field, slot = fHomeAddr, &c.HomeAddress
		}
		if *slot != nil {
			continue
		}
		f := append(p.Fields(), make([]string, 7)...)
		street := strings.Join(nonEmpty([]string{f[0], f[1], f[2]}), "\n")
		*slot = &api.PhysicalAddress{Street: street, City: f[3], State: f[4], PostalCode: f[5], CountryOrRegion: f[6]}
		r.take(field, i)
	}
	for _, slot := range []**api.PhysicalAddress{&c.HomeAddress, &c.BusinessAddress, &c.OtherAddress} {
		if *slot == nil {
			*slot = &api.PhysicalAddress{}
		}
	}
}

// readHomePage takes the preferred URL, else the first.
func (r *reader) readHomePage() {
	if i := prefIndex(r.props, r.used, "URL"); i >= 0 {
		v := r.props[i].Text()
		r.c.BusinessHomePage = &v
		r.take(fHomePage, i)
	}
}

func (r *reader) readIM() {
	c := r.c
	c.ImAddresses = []string{}
	for i, p := range r.props {
		if p.Name == "IMPP" && strings.TrimSpace(p.Text()) != "" && len(c.ImAddresses) < MaxIMAddresses {
			r.take(fIM+strconv.Itoa(len(c.ImAddresses)), i)
			c.ImAddresses = append(c.ImAddresses, p.Text())
		}
	}
}

func (r *reader) readBirthday() {
	r.c.Birthday = r.first(fBirthday, func(p vcard.Property) (string, bool) {
		if p.Name != "BDAY" {
			return "", false
		}
		d, ok := vcardDate(p.Text())
		if !ok {
			return "", false
		}
		return d + BirthdayTime, true
	})
}

func (r *reader) readCategories() {
	c := r.c
	c.Categories = []string{}
	for i, p := range r.props {
		if p.Name == "CATEGORIES" {
			if items := nonEmpty(p.List()); len(items) > 0 {
				r.take(fCategories, i)
				c.Categories = append(c.Categories, items...)
			}
		}
	}
}

// relation takes the first unused property of names, a 4.0 RELATED of kind
// with a text value, or an Apple X-ABRELATEDNAMES whose standard label
// says kind (the label is taken along).
func (r *reader) relation(field, kind string, names ...string) *string {
	for i, p := range r.props {
		if r.used[i] || strings.TrimSpace(p.Text()) == "" {
			continue
		}
		ok := slices.Contains(names, p.Name) ||
			(p.Name == "RELATED" && p.HasType(kind) && strings.EqualFold(strings.Join(p.Param("VALUE"), ""), "text"))
		label := -1
		if !ok && p.Name == "X-ABRELATEDNAMES" {
			var what string
			what, label = r.stdLabel(p)
			ok = what == kind
		}
		if ok {
			v := p.Text()
			r.take(field, i)
			if label >= 0 {
				r.take(field, label)
			}
			return &v
		}
	}
	return nil
}

func (r *reader) readChildren() {
	c := r.c
	c.Children = []string{}
	for {
		v := r.relation(fChild+strconv.Itoa(len(c.Children)), "child", propChild)
		if v == nil {
			return
		}
		c.Children = append(c.Children, *v)
	}
}

// readPhoto takes the first embedded photo when Graph can hold it.
func (r *reader) readPhoto() {
	for i, p := range r.props {
		if p.Name != "PHOTO" || !strings.EqualFold(strings.Join(p.Param("ENCODING"), ""), "b") {
			continue
		}
		data, err := base64.StdEncoding.DecodeString(p.Value)
		if err != nil {
			data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(p.Value, "="))
		}
		// Graph keeps the image only: the photo goes there when ToVCard
		// writes it back as the card has it (no group, the TYPE its bytes
		// have); otherwise it stays on the vCard side, where a photo that
		// came back respelt would count as a change.
		if err == nil && len(data) > 0 && len(data) <= MaxPhotoBytes && samePhoto(r.card, i, data) {
			r.photo = data
			r.take(fPhoto, i)
		}
		return
	}
}

// finish sets every settable string ("" clears it) and composes the FN of
// a card that has none.
func (r *reader) finish() {
	c := r.c
	for _, s := range []**string{&c.AssistantName, &c.BusinessHomePage, &c.CompanyName, &c.Department,
		&c.FileAs, &c.Initials, &c.JobTitle, &c.Manager, &c.MobilePhone, &c.NickName, &c.OfficeLocation,
		&c.PersonalNotes, &c.Profession, &c.SpouseName, &c.YomiCompanyName, &c.YomiGivenName,
		&c.YomiSurname, &c.Birthday} {
		if *s == nil {
			*s = new(string)
		}
	}
	fn := r.fn
	if fn == "" {
		fn = composeName(c)
		if fn != "" {
			p := vcard.NewText("FN", fn)
			r.assignment.fn = &p
		}
	}
	c.DisplayName = &fn
}

// telKind classifies a telephone by its TYPE values (VOICE and PREF say
// nothing): FAX or PAGER anywhere makes it vCard-only, then CELL (or
// Apple's IPHONE), WORK and HOME pick the slot; no type at all is
// "untyped", any other type (MAIN, OTHER, TEXT, CAR...) vCard-only. An
// untyped number in an Apple item group takes its slot from a standard
// label (Mobile, Work, Home; the label index is returned so the label goes
// with it), and a custom label makes it vCard-only.
func telKind(p vcard.Property, stdLabel func(vcard.Property) (string, int), customLabel func(vcard.Property) bool) (int, int) {
	var types []string
	for _, t := range p.Param("TYPE") {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && t != "voice" && t != "pref" {
			types = append(types, t)
		}
	}
	has := func(t string) bool { return slices.Contains(types, t) }
	switch {
	case has("fax") || has("pager"):
		return telOther, -1
	case has("cell") || has("iphone") || has("mobile"):
		return telMobile, -1
	case has("work"):
		return telWork, -1
	case has("home"):
		return telHome, -1
	case len(types) > 0:
		return telOther, -1
	}
	if what, li := stdLabel(p); what != "" {
		switch what {
		case "cell":
			return telMobile, li
		case "work":
			return telWork, li
		case "home":
			return telHome, li
		}
		return telOther, -1
	}
	if customLabel(p) {
		return telOther, -1
	}
	return telUntyped, -1
}

// prefRank orders by preference: PREF=n gives n, TYPE=pref 1, none 1000.
func prefRank(p vcard.Property) int {
	if v := p.Param("PREF"); len(v) > 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(v[0])); err == nil {
			return n
		}
	}
	if p.HasType("pref") {
		return 1
	}
	return 1000
}

// prefIndex returns the index of the most preferred unused non-empty
// property named name (the first among equals), or -1.
func prefIndex(props []vcard.Property, used []bool, name string) int {
	best, bestRank := -1, 0
	for i, p := range props {
		if used[i] || p.Name != name || strings.TrimSpace(p.Text()) == "" {
			continue
		}
		if r := prefRank(p); best < 0 || r < bestRank {
			best, bestRank = i, r
		}
	}
	return best
}

// firstIndex returns the index of the first unused non-blank property
// named name, or -1.
func firstIndex(props []vcard.Property, used []bool, name string) int {
	for i, p := range props {
		if !used[i] && p.Name == name && !isBlank(p.Value) {
			return i
		}
	}
	return -1
}

// vcardDate reads a vCard BDAY with a year (1974-07-22, 19740722, with or
// without a time part, which is ignored) as YYYY-MM-DD. Year-less dates
// (--0722), text values and years outside what Exchange stores give false.
func vcardDate(v string) (string, bool) {
	v = strings.TrimSpace(v)
	var d, rest string
	switch {
	case len(v) >= 10 && v[4] == '-' && v[7] == '-':
		d, rest = v[:10], v[10:]
	case len(v) >= 8 && isDigits(v[:8]):
		d, rest = v[:4]+"-"+v[4:6]+"-"+v[6:8], v[8:]
	default:
		return "", false
	}
	if rest != "" && rest[0] != 'T' && rest[0] != 't' {
		return "", false
	}
	t, err := time.Parse("2006-01-02", d)
	if err != nil || t.Year() < minBirthYear || t.Year() > maxBirthYear {
		return "", false
	}
	return d, true
}

// BirthdayTime is the time of day of every birthday written to Office 365:
// noon UTC is the same calendar day in every zone from UTC−11 to UTC+11, so
// Outlook shows the day the card holds wherever its user is.
const BirthdayTime = "T12:00:00Z"

// graphDate reads a Graph birthday ("1974-07-22" or an ISO 8601 date-time)
// as YYYY-MM-DD: the nearest UTC day, noon counting as its own day.
// Outlook stores the birthday a user enters as the local midnight of that
// day converted to UTC (2 June in CEST is 06-01T22:00:00Z, in New York
// 06-02T04:00:00Z), so taking the UTC date would be a day early east of
// UTC; the nearest day is right from UTC−11 to UTC+11 (BirthdayIn reads
// the rest with the mailbox's time zone).
func graphDate(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		t = t.UTC()
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		if t.Sub(day) > 12*time.Hour {
			day = day.AddDate(0, 0, 1)
		}
		return day.Format("2006-01-02"), true
	}
	if len(v) >= 10 {
		if t, err := time.Parse("2006-01-02", v[:10]); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// BirthdayIn reads a Graph birthday as YYYY-MM-DD knowing the time zone
// of the mailbox (mailboxSettings timeZone; nil when unknown). A birthday
// within an hour of a local midnight of loc was entered in Outlook there
// and is that local day (this reads UTC+12 to UTC+14 right, where the
// nearest UTC day is the day before); noon UTC, what cardbridge writes,
// and everything else are read as graphDate reads them.
func BirthdayIn(v string, loc *time.Location) (string, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil || loc == nil {
		return graphDate(v)
	}
	u := t.UTC()
	if u.Hour() == 12 && u.Minute() == 0 && u.Second() == 0 {
		return graphDate(v)
	}
	l := t.In(loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	switch since := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute + time.Duration(l.Second())*time.Second; {
	case since < time.Hour:
		return day.Format("2006-01-02"), true
	case since > 23*time.Hour:
		return day.AddDate(0, 0, 1).Format("2006-01-02"), true
	}
	return graphDate(v)
}

// ToVCardIn is ToVCard for a mailbox in time zone loc (nil: unknown): the
// birthday is read with BirthdayIn.
func ToVCardIn(c api.Contact, photo []byte, loc *time.Location) *vcard.Card {
	if c.Birthday != nil && loc != nil {
		if d, ok := BirthdayIn(*c.Birthday, loc); ok {
			c.Birthday = &d
		}
	}
	return ToVCard(c, photo)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isBlank reports whether a wire value holds only separators and spaces
// (N:;;;;), which the card hash ignores.
func isBlank(v string) bool {
	return strings.Trim(v, "; ,\t") == ""
}

func nonEmpty(items []string) []string {
	out := items[:0:0]
	for _, s := range items {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// composeName makes a display name for a contact without one, from what
// the contact has: its name parts (prefix, given, middle, surname,
// suffix), else its company, else its first e-mail address. Nothing is
// added that the contact does not hold.
func composeName(c *api.Contact) string {
	n := strings.Join(nonEmpty([]string{deref(c.Title), deref(c.GivenName), deref(c.MiddleName), deref(c.Surname), deref(c.Generation)}), " ")
	switch {
	case n != "":
		return n
	case deref(c.CompanyName) != "":
		return deref(c.CompanyName)
	case len(c.EmailAddresses) > 0:
		return c.EmailAddresses[0].Address
	}
	return ""
}

// ---------------------------------------------------------------------
// Graph -> vCard: the plain form of every field

// fieldProps are the properties ToVCard writes for one Graph field.
type fieldProps struct {
	field string
	props []vcard.Property
}

// canonical returns, field by field, the properties a Graph contact maps
// to in plain spelling (before FormatPropertyID is applied).
func canonical(c api.Contact, photo []byte) []fieldProps {
	var out []fieldProps
	add := func(field string, ps ...vcard.Property) {
		out = append(out, fieldProps{field, ps})
	}
	text := func(field, name string, v *string) {
		if s := deref(v); s != "" {
			add(field, vcard.NewText(name, s))
		}
	}
	if u := extProp(c, api.UIDPropertyID); u != "" {
		add(fUID, vcard.NewText("UID", u))
	}
	fn := deref(c.DisplayName)
	if fn == "" {
		fn = composeName(&c)
	}
	add(fDisplayName, vcard.NewText("FN", fn))
	add(fName, structured("N", deref(c.Surname), deref(c.GivenName), deref(c.MiddleName), deref(c.Title), deref(c.Generation)))
	if s := deref(c.NickName); s != "" {
		add(fNickName, vcard.NewList("NICKNAME", s))
	}
	if co, dep := deref(c.CompanyName), deref(c.Department); co != "" || dep != "" {
		if dep == "" {
			add(fOrg, vcard.NewStructured("ORG", co))
		} else {
			add(fOrg, vcard.NewStructured("ORG", co, dep))
		}
	}
	text(fJobTitle, "TITLE", c.JobTitle)
	text(fProfession, "ROLE", c.Profession)
	for i, e := range c.EmailAddresses {
		if e.Address == "" {
			continue
		}
		p := vcard.NewText("EMAIL", e.Address)
		if e.Name != "" && e.Name != e.Address {
			p = p.WithParam(paramEmailName, e.Name)
		}
		add(fEmail+strconv.Itoa(i), p)
	}
	if s := deref(c.MobilePhone); s != "" {
		add(fMobile, vcard.NewText("TEL", s).WithParam("TYPE", "CELL"))
	}
	for i, s := range c.BusinessPhones {
		if s != "" {
			add(fBusiness+strconv.Itoa(i), vcard.NewText("TEL", s).WithParam("TYPE", "WORK"))
		}
	}
	for i, s := range c.HomePhones {
		if s != "" {
			add(fHome+strconv.Itoa(i), vcard.NewText("TEL", s).WithParam("TYPE", "HOME"))
		}
	}
	for _, x := range []struct {
		field, typ string
		a          *api.PhysicalAddress
	}{{fHomeAddr, "HOME", c.HomeAddress}, {fBusAddr, "WORK", c.BusinessAddress}, {fOtherAddr, "", c.OtherAddress}} {
		if x.a.IsZero() {
			continue
		}
		p := structured("ADR", "", "", x.a.Street, x.a.City, x.a.State, x.a.PostalCode, x.a.CountryOrRegion)
		if x.typ != "" {
			p = p.WithParam("TYPE", x.typ)
		}
		add(x.field, p)
	}
	text(fHomePage, "URL", c.BusinessHomePage)
	for i, s := range c.ImAddresses {
		if s != "" {
			add(fIM+strconv.Itoa(i), vcard.NewText("IMPP", s))
		}
	}
	if d, ok := graphDate(deref(c.Birthday)); ok {
		add(fBirthday, vcard.NewText("BDAY", d))
	}
	if cats := nonEmpty(c.Categories); len(cats) > 0 {
		add(fCategories, vcard.NewList("CATEGORIES", cats...))
	}
	text(fNotes, "NOTE", c.PersonalNotes)
	text(fSpouse, propSpouse, c.SpouseName)
	text(fManager, propManager, c.Manager)
	text(fAssistant, propAssistant, c.AssistantName)
	n := 0
	for _, s := range c.Children {
		if s != "" {
			add(fChild+strconv.Itoa(n), vcard.NewText(propChild, s))
			n++
		}
	}
	text(fYomiGiven, propYomiGiven, c.YomiGivenName)
	text(fYomiSurname, propYomiSurname, c.YomiSurname)
	text(fYomiCompany, propYomiCompany, c.YomiCompanyName)
	text(fFileAs, propFileAs, c.FileAs)
	text(fInitials, propInitials, c.Initials)
	text(fOffice, propOffice, c.OfficeLocation)
	if len(photo) > 0 {
		add(fPhoto, photoProp(photo))
	}
	return out
}

// samePhoto reports whether card.Props[i] is the PHOTO ToVCard writes for
// photo, in the card's version.
func samePhoto(card *vcard.Card, i int, photo []byte) bool {
	want := photoProp(photo)
	if card.Version == vcard.V40 {
		want = (&vcard.Card{Version: vcard.V30, Props: []vcard.Property{want}}).ConvertTo(vcard.V40).Props[0]
	} else if card.Version != vcard.V30 {
		return card.ConvertTo(vcard.V30).Props[i].Key() == want.Key()
	}
	return card.Props[i].Key() == want.Key()
}

// photoProp is the 3.0 PHOTO property ToVCard writes for photo.
func photoProp(photo []byte) vcard.Property {
	return vcard.Property{Name: "PHOTO", Params: []vcard.Param{
		{Name: "ENCODING", Values: []string{"b"}},
		{Name: "TYPE", Values: []string{photoType(photo)}},
	}, Value: base64.StdEncoding.EncodeToString(photo)}
}

// structured builds an N or ADR value from literal components: a ',' in a
// Graph string is text, not an item separator, so it is escaped.
func structured(name string, fields ...string) vcard.Property {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = vcard.NewText("NOTE", f).Value // escapes \ newline ; ,
	}
	return vcard.Property{Name: name, Value: strings.Join(parts, ";")}
}

// photoType names a photo's format for TYPE= from its first bytes (JPEG
// when unknown, which is what Office 365 serves).
func photoType(b []byte) string {
	switch http.DetectContentType(b) {
	case "image/png":
		return "PNG"
	case "image/gif":
		return "GIF"
	case "image/webp":
		return "WEBP"
	case "image/bmp":
		return "BMP"
	}
	return "JPEG"
}

func extProp(c api.Contact, id string) string {
	for _, e := range c.SingleValueExtendedProperties {
		if strings.EqualFold(e.ID, id) {
			return e.Value
		}
	}
	return ""
}

// ---------------------------------------------------------------------
// The format property: vCard spelling of values Office 365 holds

// formatDoc is the JSON value of FormatPropertyID.
type formatDoc struct {
	// V is the format's version (1).
	V int `json:"v"`
	// E lists the fields whose vCard spelling differs from the plain one.
	E []formatEntry `json:"e,omitempty"`
}

// formatEntry says: where ToVCard would write the plain properties whose
// keyHash is K, write P (vCard 3.0 content lines) instead.
type formatEntry struct {
	K string `json:"k"`
	P string `json:"p"`
}

// keyHash identifies a list of properties by their sorted Keys.
func keyHash(props []vcard.Property) string {
	keys := make([]string, len(props))
	for i, p := range props {
		keys[i] = p.Key()
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return hex.EncodeToString(sum[:8])
}

func sameKeys(x, y []vcard.Property) bool {
	if len(x) != len(y) {
		return false
	}
	return keyHash(x) == keyHash(y)
}

// format returns the FormatPropertyID value for the card a was made from.
func (a *assignment) format(card *vcard.Card) string {
	doc := formatDoc{V: 1}
	c := a.c
	if uid := card.UID(); uid != "" && a.src[fUID] != nil {
		c.SingleValueExtendedProperties = []api.ExtendedProperty{{ID: api.UIDPropertyID, Value: uid}}
	}
	size := 16
	for _, f := range canonical(c, a.photo) {
		idx := a.src[f.field]
		if f.field == fPhoto || len(idx) == 0 || (f.field == fDisplayName && a.fn != nil) {
			continue
		}
		src := &vcard.Card{Version: card.Version}
		for _, i := range idx {
			src.Props = append(src.Props, card.Props[i])
		}
		if sameKeys(src.Props, f.props) {
			continue
		}
		src = src.ConvertTo(vcard.V30)
		e := formatEntry{K: keyHash(f.props), P: contentLines(src)}
		if size+len(e.P)+len(e.K)+16 > maxFormatBytes {
			continue
		}
		size += len(e.P) + len(e.K) + 16
		doc.E = append(doc.E, e)
	}
	b, _ := marshal(doc)
	return string(b)
}

// marshal is json.Marshal without HTML escaping ("&" stays "&").
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// contentLines returns a 3.0 card's property lines, without BEGIN,
// VERSION and END.
func contentLines(c *vcard.Card) string {
	s := string(c.Encode())
	s = strings.TrimPrefix(s, "BEGIN:VCARD\r\nVERSION:3.0\r\n")
	return strings.TrimSuffix(s, "END:VCARD\r\n")
}

// format is a read FormatPropertyID: entries by key hash, each used once.
type format map[string][][]vcard.Property

func readFormat(c api.Contact) format {
	v := extProp(c, FormatPropertyID)
	if v == "" {
		return nil
	}
	var doc formatDoc
	if err := json.Unmarshal([]byte(v), &doc); err != nil || doc.V != 1 {
		return nil // unreadable or from a newer cardbridge: plain spelling
	}
	f := make(format)
	for _, e := range doc.E {
		card, err := vcard.Parse([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\n" + e.P + "END:VCARD\r\n"))
		if err != nil || len(card.Props) == 0 {
			continue
		}
		f[e.K] = append(f[e.K], card.Props)
	}
	return f
}

// take returns (and uses up) the spelling recorded for plain properties
// with key hash k.
func (f format) take(k string) ([]vcard.Property, bool) {
	alts := f[k]
	if len(alts) == 0 {
		return nil, false
	}
	f[k] = alts[1:]
	return alts[0], true
}

// ---------------------------------------------------------------------
// JSON for POST and PATCH

// ContactJSON encodes a contact for POST or PATCH. Read-only and
// bookkeeping fields (id, @odata.etag, changeKey, parentFolderId,
// createdDateTime, lastModifiedDateTime, @removed) are left out. A field
// that is nil is left out (not touched by a PATCH); a field that is set
// but empty clears the value: a string as null, an array as [], an address
// as an object whose five fields are all null (which clears it whether
// Graph replaces or merges complex values). A set address writes all five
// fields, empty ones as null. Every other value is written as it is.
func ContactJSON(c api.Contact) ([]byte, error) { return contactJSON(c, false) }

// CreateJSON encodes a new contact for POST: as ContactJSON, without what
// would clear a value (null strings, empty arrays, all-null addresses),
// since a new contact has none. The body is about a third of
// ContactJSON's for a typical card, which Graph and the client parse once
// per write.
func CreateJSON(c api.Contact) ([]byte, error) { return contactJSON(c, true) }

// contactJSON is ContactJSON, or CreateJSON when create is set.
func contactJSON(c api.Contact, create bool) ([]byte, error) {
	w := &jsonWriter{create: create}
	w.b.WriteByte('{')
	w.str("displayName", c.DisplayName)
	w.str("givenName", c.GivenName)
	w.str("middleName", c.MiddleName)
	w.str("surname", c.Surname)
	w.str("title", c.Title)
	w.str("generation", c.Generation)
	w.str("initials", c.Initials)
	w.str("nickName", c.NickName)
	w.str("fileAs", c.FileAs)
	w.str("yomiGivenName", c.YomiGivenName)
	w.str("yomiSurname", c.YomiSurname)
	w.str("yomiCompanyName", c.YomiCompanyName)
	w.str("companyName", c.CompanyName)
	w.str("department", c.Department)
	w.str("jobTitle", c.JobTitle)
	w.str("profession", c.Profession)
	w.str("officeLocation", c.OfficeLocation)
	w.str("manager", c.Manager)
	w.str("assistantName", c.AssistantName)
	w.str("spouseName", c.SpouseName)
	putList(w, "children", c.Children)
	w.str("birthday", c.Birthday)
	putList(w, "emailAddresses", c.EmailAddresses)
	w.str("mobilePhone", c.MobilePhone)
	putList(w, "businessPhones", c.BusinessPhones)
	putList(w, "homePhones", c.HomePhones)
	putList(w, "imAddresses", c.ImAddresses)
	w.str("businessHomePage", c.BusinessHomePage)
	w.addr("homeAddress", c.HomeAddress)
	w.addr("businessAddress", c.BusinessAddress)
	w.addr("otherAddress", c.OtherAddress)
	putList(w, "categories", c.Categories)
	w.str("personalNotes", c.PersonalNotes)
	putList(w, "singleValueExtendedProperties", c.SingleValueExtendedProperties)
	if w.err != nil {
		return nil, w.err
	}
	w.b.WriteByte('}')
	return w.b.Bytes(), nil
}

// jsonWriter writes the members of a contact's JSON object under the rules
// of ContactJSON, or of CreateJSON when create is set. The first error
// stops it: later members are not written and err keeps that error.
type jsonWriter struct {
	b      bytes.Buffer
	n      int // members written
	create bool
	err    error
}

// put writes member name with value v.
func (w *jsonWriter) put(name string, v any) {
	if w.err != nil {
		return
	}
	raw, err := marshal(v)
	if err != nil {
		w.err = err
		return
	}
	if w.n > 0 {
		w.b.WriteByte(',')
	}
	w.n++
	k, _ := json.Marshal(name)
	w.b.Write(k)
	w.b.WriteByte(':')
	w.b.Write(raw)
}

// str writes a string member: nothing when s is nil (or empty on create),
// null when it is empty.
func (w *jsonWriter) str(name string, s *string) {
	switch {
	case s == nil, *s == "" && w.create:
	case *s == "":
		w.put(name, nil)
	default:
		w.put(name, *s)
	}
}

// putList writes an array member: nothing when a is nil (or empty on
// create), [] when it is empty.
func putList[T any](w *jsonWriter, name string, a []T) {
	if a == nil || len(a) == 0 && w.create {
		return
	}
	w.put(name, a)
}

// addr writes an address member: nothing when a is nil (or empty on
// create), else all five fields with the empty ones as null.
func (w *jsonWriter) addr(name string, a *api.PhysicalAddress) {
	if a == nil || *a == (api.PhysicalAddress{}) && w.create {
		return
	}
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	w.put(name, struct {
		Street          any `json:"street"`
		City            any `json:"city"`
		State           any `json:"state"`
		CountryOrRegion any `json:"countryOrRegion"`
		PostalCode      any `json:"postalCode"`
	}{orNull(a.Street), orNull(a.City), orNull(a.State), orNull(a.CountryOrRegion), orNull(a.PostalCode)})
}
