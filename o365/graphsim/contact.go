package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

type propKind int

const (
	kString propKind = iota
	kStrings
	kEmails
	kAddress
	kBirthday
	kReadOnly
	kSingleExt
	kMultiExt
	kNav
)

// contactProps lists the contact properties in the order Graph renders them.
var contactProps = []struct {
	name string
	kind propKind
}{
	{"createdDateTime", kReadOnly}, {"lastModifiedDateTime", kReadOnly}, {"changeKey", kReadOnly},
	{"categories", kStrings}, {"parentFolderId", kReadOnly}, {"birthday", kBirthday},
	{"fileAs", kString}, {"displayName", kString}, {"givenName", kString}, {"initials", kString},
	{"middleName", kString}, {"nickName", kString}, {"surname", kString}, {"title", kString},
	{"yomiGivenName", kString}, {"yomiSurname", kString}, {"yomiCompanyName", kString},
	{"generation", kString}, {"imAddresses", kStrings}, {"jobTitle", kString}, {"companyName", kString},
	{"department", kString}, {"officeLocation", kString}, {"profession", kString},
	{"businessHomePage", kString}, {"assistantName", kString}, {"manager", kString},
	{"homePhones", kStrings}, {"mobilePhone", kString}, {"businessPhones", kStrings},
	{"spouseName", kString}, {"personalNotes", kString}, {"children", kStrings},
	{"emailAddresses", kEmails}, {"homeAddress", kAddress}, {"businessAddress", kAddress},
	{"otherAddress", kAddress},
}

var propKinds = func() map[string]propKind {
	m := map[string]propKind{"id": kReadOnly, "singleValueExtendedProperties": kSingleExt,
		"multiValueExtendedProperties": kMultiExt, "photo": kNav, "extensions": kNav}
	for _, p := range contactProps {
		m[p.name] = p.kind
	}
	return m
}()

// arrayLimits are the multi-value limits of Exchange contacts.
var arrayLimits = map[string]struct {
	exch string
	max  int
}{
	"emailAddresses": {"EmailAddresses", 3},
	"businessPhones": {"BusinessPhones", 2},
	"homePhones":     {"HomePhones", 2},
}

type email struct{ Name, Address string }

type address struct {
	Street          string `json:"street,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
}

type extProp struct{ ID, Value string }
type multiExtProp struct {
	ID    string
	Value []string
}

// contact is a stored contact.
type contact struct {
	key       string // internal key; ids derive from it
	folder    *folder
	str       map[string]string
	arr       map[string][]string
	emails    []email
	addr      map[string]address
	birthday  *time.Time
	created   time.Time
	modified  time.Time
	changeKey string
	ext       map[string]extProp // by lower-case id
	multiExt  map[string]multiExtProp
	photo     []byte
	photoTag  string
	seq       uint64
}

func newContact() *contact {
	return &contact{str: map[string]string{}, arr: map[string][]string{}, addr: map[string]address{},
		ext: map[string]extProp{}, multiExt: map[string]multiExtProp{}}
}

// contactPatch is a parsed and validated POST/PATCH body.
type contactPatch struct {
	set       map[string]any // name -> *string (nil = clear), []string, []email, *address, *time.Time
	ext       []extProp
	multiExt  []multiExtProp
	hasDispNm bool
}

// bodyError is a 400 with a Graph code.
type bodyError struct{ code, msg string }

func (e *bodyError) Error() string { return e.code + ": " + e.msg }

func badBody(code, f string, a ...any) *bodyError { return &bodyError{code, fmt.Sprintf(f, a...)} }

var extIDRe = regexp.MustCompile(`(?i)^(String|Integer|Boolean|SystemTime|Binary|Double|Float|Currency|Short|Long|CLSID|ApplicationTime|StringArray|IntegerArray)\s+(\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}\s+(Name\s+\S.*|Id\s+0x[0-9a-f]{1,4})|0x[0-9a-f]{1,4})$`)

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// parseContactBody validates a contact body as Graph would.
func parseContactBody(body []byte) (*contactPatch, *bodyError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, badBody("RequestBodyRead", "Invalid JSON. The request body must be a JSON object describing a microsoft.graph.contact. (%v)", err)
	}
	if dec.More() {
		return nil, badBody("RequestBodyRead", "Invalid JSON. Additional text found after the end of the JSON object.")
	}
	p := &contactPatch{set: map[string]any{}}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, name := range keys {
		raw := obj[name]
		if strings.HasPrefix(name, "@odata.") || strings.Contains(name, "@odata.") {
			if name == "@odata.type" {
				var t string
				json.Unmarshal(raw, &t)
				if t != "#microsoft.graph.contact" && t != "microsoft.graph.contact" {
					return nil, badBody("RequestBodyRead", "A type named '%s' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", t)
				}
			}
			continue
		}
		kind, ok := propKinds[name]
		if !ok {
			return nil, badBody("RequestBodyRead", "The property '%s' does not exist on type 'microsoft.graph.contact'. Make sure to only use property names that are defined by the type or mark the type as open type.", name)
		}
		typeErr := func(t string) *bodyError {
			return badBody("RequestBodyRead", "Cannot convert the literal '%s' to the expected type '%s' (property '%s').", strings.TrimSpace(string(raw)), t, name)
		}
		switch kind {
		case kReadOnly:
			// Graph ignores read-only properties in a body.
		case kNav:
			return nil, badBody("RequestBodyRead", "The navigation property '%s' cannot be written in a contact body.", name)
		case kString:
			if isNull(raw) {
				p.set[name] = (*string)(nil)
				break
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				return nil, typeErr("Edm.String")
			}
			p.set[name] = &v
			if name == "displayName" {
				p.hasDispNm = true
			}
		case kStrings:
			var v []string
			if !isNull(raw) {
				var items []json.RawMessage
				if json.Unmarshal(raw, &items) != nil {
					return nil, typeErr("Collection(Edm.String)")
				}
				for _, it := range items {
					var sv string
					if isNull(it) || json.Unmarshal(it, &sv) != nil {
						return nil, typeErr("Collection(Edm.String)")
					}
					v = append(v, sv)
				}
			}
			if l, ok := arrayLimits[name]; ok && len(v) > l.max {
				return nil, limitErr(name, len(v))
			}
			p.set[name] = v
		case kEmails:
			var v []email
			if !isNull(raw) {
				var items []map[string]json.RawMessage
				if json.Unmarshal(raw, &items) != nil {
					return nil, typeErr("Collection(microsoft.graph.emailAddress)")
				}
				for _, it := range items {
					var e email
					for k, fv := range it {
						var sv string
						if !isNull(fv) && json.Unmarshal(fv, &sv) != nil {
							return nil, typeErr("microsoft.graph.emailAddress")
						}
						switch k {
						case "name":
							e.Name = sv
						case "address":
							e.Address = sv
						case "@odata.type":
						default:
							return nil, badBody("RequestBodyRead", "The property '%s' does not exist on type 'microsoft.graph.emailAddress'.", k)
						}
					}
					v = append(v, e)
				}
			}
			if len(v) > 3 {
				return nil, limitErr(name, len(v))
			}
			p.set[name] = v
		case kAddress:
			var a *address
			if !isNull(raw) {
				var m map[string]json.RawMessage
				if json.Unmarshal(raw, &m) != nil {
					return nil, typeErr("microsoft.graph.physicalAddress")
				}
				a = &address{}
				for k, fv := range m {
					var sv string
					if !isNull(fv) && json.Unmarshal(fv, &sv) != nil {
						return nil, typeErr("microsoft.graph.physicalAddress")
					}
					switch k {
					case "street":
						a.Street = sv
					case "city":
						a.City = sv
					case "state":
						a.State = sv
					case "countryOrRegion":
						a.CountryOrRegion = sv
					case "postalCode":
						a.PostalCode = sv
					case "@odata.type":
					default:
						return nil, badBody("RequestBodyRead", "The property '%s' does not exist on type 'microsoft.graph.physicalAddress'.", k)
					}
				}
			}
			p.set[name] = a
		case kBirthday:
			if isNull(raw) {
				p.set[name] = (*time.Time)(nil)
				break
			}
			var sv string
			if json.Unmarshal(raw, &sv) != nil {
				return nil, typeErr("Edm.DateTimeOffset")
			}
			t, ok := parseDateTime(sv)
			if !ok {
				return nil, badBody("RequestBodyRead", "Cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset'.", sv)
			}
			p.set[name] = &t
		case kSingleExt:
			var items []map[string]json.RawMessage
			if json.Unmarshal(raw, &items) != nil {
				return nil, typeErr("Collection(microsoft.graph.singleValueLegacyExtendedProperty)")
			}
			for _, it := range items {
				var e extProp
				if json.Unmarshal(it["id"], &e.ID) != nil || !extIDRe.MatchString(e.ID) {
					return nil, badBody("ErrorInvalidExtendedPropertyValue", "The extended property id '%s' is not valid.", strings.Trim(string(it["id"]), `"`))
				}
				if isNull(it["value"]) || json.Unmarshal(it["value"], &e.Value) != nil {
					return nil, badBody("ErrorInvalidExtendedPropertyValue", "The value of extended property '%s' must be a string.", e.ID)
				}
				p.ext = append(p.ext, e)
			}
		case kMultiExt:
			var items []map[string]json.RawMessage
			if json.Unmarshal(raw, &items) != nil {
				return nil, typeErr("Collection(microsoft.graph.multiValueLegacyExtendedProperty)")
			}
			for _, it := range items {
				var e multiExtProp
				if json.Unmarshal(it["id"], &e.ID) != nil || !extIDRe.MatchString(e.ID) {
					return nil, badBody("ErrorInvalidExtendedPropertyValue", "The extended property id '%s' is not valid.", strings.Trim(string(it["id"]), `"`))
				}
				if json.Unmarshal(it["value"], &e.Value) != nil {
					return nil, badBody("ErrorInvalidExtendedPropertyValue", "The value of extended property '%s' must be an array of strings.", e.ID)
				}
				p.multiExt = append(p.multiExt, e)
			}
		}
	}
	return p, nil
}

func limitErr(name string, n int) *bodyError {
	l := arrayLimits[name]
	return badBody("ErrorInvalidArgument", "The multi value property %s has %d entries, that exceeds the max allowed value of %d", l.exch, n, l.max)
}

func parseDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

var nameParts = []string{"givenName", "middleName", "surname", "generation"}

// apply writes a patch into c (not the bookkeeping).
func (c *contact) apply(p *contactPatch, regen bool) {
	namesChanged := false
	for name, v := range p.set {
		if slices.Contains(nameParts, name) {
			namesChanged = true
		}
		switch x := v.(type) {
		case *string:
			if x == nil || *x == "" {
				delete(c.str, name)
			} else {
				c.str[name] = *x
			}
		case []string:
			if len(x) == 0 {
				delete(c.arr, name)
			} else {
				c.arr[name] = slices.Clone(x)
			}
		case []email:
			c.emails = slices.Clone(x)
		case *address:
			if x == nil || *x == (address{}) {
				delete(c.addr, name)
			} else {
				c.addr[name] = *x
			}
		case *time.Time:
			if x == nil {
				c.birthday = nil
			} else {
				t := *x
				c.birthday = &t
			}
		}
	}
	for _, e := range p.ext {
		c.ext[strings.ToLower(e.ID)] = e
	}
	for _, e := range p.multiExt {
		c.multiExt[strings.ToLower(e.ID)] = e
	}
	if regen && !p.hasDispNm && (namesChanged || c.str["displayName"] == "") {
		var parts []string
		for _, n := range nameParts {
			if v := c.str[n]; v != "" {
				parts = append(parts, v)
			}
		}
		if len(parts) > 0 {
			c.str["displayName"] = strings.Join(parts, " ")
		} else if !p.hasDispNm && namesChanged {
			delete(c.str, "displayName")
		}
	}
}

// renderOpts say how to render a contact.
type renderOpts struct {
	immutable bool
	selectSet map[string]bool // nil: all
	expandExt *extFilter      // nil: no expansion
	expandMV  *extFilter
	delta     bool // add @odata.type
	birthday  BirthdayFormat
	emailName bool // name defaults to address
}

// extFilter selects extended properties by id (nil ids: all).
type extFilter struct{ ids []string }

func (f *extFilter) match(id string) bool {
	if f.ids == nil {
		return true
	}
	for _, x := range f.ids {
		if strings.EqualFold(x, id) {
			return true
		}
	}
	return false
}

func jstr(b *bytes.Buffer, s string) {
	if plainJSON(s) {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	v, _ := json.Marshal(s)
	b.Write(v)
}

// plainJSON reports whether s stands in a JSON string as it is, quoted,
// exactly as json.Marshal would write it: printable ASCII other than the
// quote, the backslash and the HTML characters json.Marshal escapes. Most
// of a contact's strings are; jstr writes those without an allocation.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x80, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// render writes the contact JSON as Graph would.
func (c *contact) render(m *Mailbox, o renderOpts) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	if o.delta {
		b.WriteString(`"@odata.type":"#microsoft.graph.contact",`)
	}
	b.WriteString(`"@odata.etag":`)
	jstr(&b, `W/"`+c.changeKey+`"`)
	b.WriteString(`,"id":`)
	jstr(&b, m.contactID(c, o.immutable))
	for _, p := range contactProps {
		if o.selectSet != nil && !o.selectSet[p.name] {
			continue
		}
		b.WriteByte(',')
		jstr(&b, p.name)
		b.WriteByte(':')
		switch p.name {
		case "createdDateTime":
			jstr(&b, c.created.UTC().Format(time.RFC3339))
			continue
		case "lastModifiedDateTime":
			jstr(&b, c.modified.UTC().Format(time.RFC3339))
			continue
		case "changeKey":
			jstr(&b, c.changeKey)
			continue
		case "parentFolderId":
			jstr(&b, c.folder.id)
			continue
		}
		switch p.kind {
		case kString:
			if v, ok := c.str[p.name]; ok {
				jstr(&b, v)
			} else {
				b.WriteString("null")
			}
		case kStrings:
			v := c.arr[p.name]
			if v == nil {
				v = []string{}
			}
			x, _ := json.Marshal(v)
			b.Write(x)
		case kEmails:
			b.WriteByte('[')
			for i, e := range c.emails {
				if i > 0 {
					b.WriteByte(',')
				}
				name := e.Name
				if name == "" && o.emailName {
					name = e.Address
				}
				b.WriteString(`{"name":`)
				jstr(&b, name)
				b.WriteString(`,"address":`)
				jstr(&b, e.Address)
				b.WriteByte('}')
			}
			b.WriteByte(']')
		case kAddress:
			x, _ := json.Marshal(c.addr[p.name])
			b.Write(x)
		case kBirthday:
			if c.birthday == nil {
				b.WriteString("null")
				break
			}
			t := c.birthday.UTC()
			switch o.birthday {
			case BirthdayDateOnly:
				jstr(&b, t.Format("2006-01-02"))
			case BirthdayMidnightUTC:
				jstr(&b, t.Format("2006-01-02")+"T00:00:00Z")
			default:
				jstr(&b, t.Format(time.RFC3339))
			}
		}
	}
	if o.expandExt != nil {
		var items []map[string]string
		for _, k := range sortedKeys(c.ext) {
			if e := c.ext[k]; o.expandExt.match(e.ID) {
				items = append(items, map[string]string{"id": e.ID, "value": e.Value})
			}
		}
		if len(items) > 0 {
			x, _ := json.Marshal(items)
			b.WriteString(`,"singleValueExtendedProperties":`)
			b.Write(x)
		}
	}
	if o.expandMV != nil {
		var items []map[string]any
		for _, k := range sortedKeys(c.multiExt) {
			if e := c.multiExt[k]; o.expandMV.match(e.ID) {
				items = append(items, map[string]any{"id": e.ID, "value": e.Value})
			}
		}
		if len(items) > 0 {
			x, _ := json.Marshal(items)
			b.WriteString(`,"multiValueExtendedProperties":`)
			b.Write(x)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
