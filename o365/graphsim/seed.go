package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	mrand "math/rand/v2"
	"strings"
	"time"
)

var (
	seedGiven = []string{"Anna", "Ben", "Chloé", "Dmitri", "Eva", "François", "Grace", "Hiroshi", "Ines", "Jonas", "Katarzyna", "Liam",
		"María", "Noah", "Olga", "Pieter", "Quinn", "Rosa", "Søren", "Tomás", "Uma", "Viktor", "Wen", "Xavier", "Yara", "Zoë", "Ömer", "Łukasz"}
	seedSurname = []string{"Andersson", "Brown", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Hoffmann", "Ivanova", "Jensen",
		"Kowalski", "Lefèvre", "Müller", "Nakamura", "O'Brien", "Petrov", "Rossi", "Schmidt", "Tanaka", "van der Berg", "Wójcik", "Yılmaz", "Zhang"}
	seedMiddle    = []string{"A.", "Marie", "J.", "Louise", "Peter"}
	seedCompanies = []string{"Contoso Ltd", "Fabrikam, Inc.", "Northwind Traders", "Tailspin Toys", "Wingtip Toys", "Adventure Works", "Litware", "Proseware; Inc"}
	seedTitles    = []string{"Engineer", "Sales Manager", "CTO", "Accountant", "Designer", "Nurse", "Teacher", "Consultant"}
	seedDepts     = []string{"R&D", "Sales", "Finance", "Operations", "HR"}
	seedStreets   = []string{"Main Street", "Rue de la Paix", "Königsallee", "Via Roma", "Baker Street", "Calle Mayor", "Strandvejen"}
	seedCities    = []struct{ city, state, country, zip string }{
		{"Seattle", "WA", "United States", "98052"}, {"Paris", "", "France", "75002"}, {"Düsseldorf", "NRW", "Germany", "40212"},
		{"Roma", "RM", "Italy", "00184"}, {"London", "", "United Kingdom", "NW1 6XE"}, {"Madrid", "", "Spain", "28013"}, {"København", "", "Denmark", "2100"},
	}
	seedCategories = []string{"Family", "Friends", "Work", "VIP", "Blue category"}
	seedDomains    = []string{"example.com", "contoso.example", "mail.example.org", "fabrikam.example"}
)

func pick[T any](r *mrand.Rand, s []T) T { return s[r.IntN(len(s))] }

func asciiLocal(s string) string {
	r := strings.NewReplacer("é", "e", "ç", "c", "ø", "o", "á", "a", "ö", "o", "Ö", "O", "ë", "e", "ł", "l", "Ł", "L", "ü", "u", "è", "e", "ı", "i", "ó", "o", "'", "", " ", "")
	return strings.ToLower(r.Replace(s))
}

// SeedContact returns the JSON of the i-th realistic contact of a seed:
// names, 0-3 e-mail addresses, phones, addresses, some categories, notes
// and birthdays. Deterministic for (seed, i).
func SeedContact(seed int64, i int) []byte {
	r := mrand.New(mrand.NewPCG(uint64(seed), uint64(i)*0x9e3779b97f4a7c15+1))
	given, sur := pick(r, seedGiven), pick(r, seedSurname)
	c := map[string]any{"givenName": given, "surname": sur, "displayName": given + " " + sur}
	if r.IntN(6) == 0 {
		mid := pick(r, seedMiddle)
		c["middleName"] = mid
		c["displayName"] = given + " " + mid + " " + sur
	}
	if r.IntN(10) == 0 {
		c["nickName"] = given[:min(3, len(given))]
	}
	var emails []map[string]string
	for k := range r.IntN(4) {
		local := asciiLocal(given) + "." + asciiLocal(sur)
		if k > 0 {
			local = fmt.Sprintf("%s%d", asciiLocal(given), r.IntN(100))
		}
		e := map[string]string{"address": local + "@" + pick(r, seedDomains)}
		if r.IntN(2) == 0 {
			e["name"] = given + " " + sur
		}
		emails = append(emails, e)
	}
	if emails != nil {
		c["emailAddresses"] = emails
	}
	phone := func() string { return fmt.Sprintf("+%d %d %07d", 1+r.IntN(49), 10+r.IntN(890), r.IntN(10000000)) }
	if r.IntN(3) > 0 {
		c["mobilePhone"] = phone()
	}
	if n := r.IntN(3); n > 0 {
		var p []string
		for range n {
			p = append(p, phone())
		}
		c["businessPhones"] = p
	}
	if r.IntN(4) == 0 {
		c["homePhones"] = []string{phone()}
	}
	if r.IntN(2) == 0 {
		c["companyName"] = pick(r, seedCompanies)
		c["jobTitle"] = pick(r, seedTitles)
		if r.IntN(2) == 0 {
			c["department"] = pick(r, seedDepts)
		}
	}
	addr := func() map[string]string {
		ci := pick(r, seedCities)
		a := map[string]string{"street": fmt.Sprintf("%d %s", 1+r.IntN(250), pick(r, seedStreets)), "city": ci.city, "countryOrRegion": ci.country, "postalCode": ci.zip}
		if ci.state != "" {
			a["state"] = ci.state
		}
		return a
	}
	if r.IntN(2) == 0 {
		c["homeAddress"] = addr()
	}
	if r.IntN(3) == 0 {
		c["businessAddress"] = addr()
	}
	if r.IntN(3) == 0 {
		var cats []string
		for range 1 + r.IntN(2) {
			cat := pick(r, seedCategories)
			if !strings.Contains(strings.Join(cats, "\x00"), cat) {
				cats = append(cats, cat)
			}
		}
		c["categories"] = cats
	}
	if r.IntN(3) == 0 {
		b := time.Date(1940+r.IntN(65), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		c["birthday"] = b.Format(time.RFC3339)
	}
	if r.IntN(5) == 0 {
		c["personalNotes"] = "Met at the conference.\nLikes \"quotes\", commas; and ünïcode ✓"
	}
	if r.IntN(8) == 0 {
		c["imAddresses"] = []string{"sip:" + asciiLocal(given) + "@" + pick(r, seedDomains)}
	}
	if r.IntN(10) == 0 {
		c["spouseName"] = pick(r, seedGiven)
		c["children"] = []string{pick(r, seedGiven)}
	}
	b, _ := json.Marshal(c)
	return b
}

// Seed adds n realistic contacts to a folder ("" for the default one),
// deterministic for seed.
func (m *Mailbox) Seed(folderID string, n int, seed int64) {
	for i := range n {
		m.Put(folderID, SeedContact(seed, i))
	}
}

// SeedUser returns the i-th realistic directory user of a seed in the
// tenant with the given domain: names, UPN and mail, phones, job title,
// department, office, a small JPEG photo for one in five; one in twenty
// is a guest, one in twenty-five disabled, one in thirty has no mailbox.
// Managers are left to SeedDirectory. Deterministic for (seed, i).
func SeedUser(seed int64, i int, domain string) User {
	r := mrand.New(mrand.NewPCG(uint64(seed)^0x5eed, uint64(i)*0x9e3779b97f4a7c15+7))
	given, sur := pick(r, seedGiven), pick(r, seedSurname)
	local := fmt.Sprintf("%s.%s%d", asciiLocal(given), asciiLocal(sur), i)
	u := User{
		ID:          stableGUID(fmt.Sprintf("seed-user:%d:%d:%s", seed, i, domain)),
		UPN:         local + "@" + domain,
		DisplayName: given + " " + sur, GivenName: given, Surname: sur,
		JobTitle: pick(r, seedTitles), Department: pick(r, seedDepts), OfficeLocation: fmt.Sprintf("%s %d", pick(r, []string{"HQ", "B2", "Annex"}), 100+r.IntN(400)),
		CompanyName:    "Contoso Ltd",
		BusinessPhones: []string{fmt.Sprintf("+1 425 555 %04d", r.IntN(10000))},
	}
	if r.IntN(2) == 0 {
		u.MobilePhone = fmt.Sprintf("+1 206 555 %04d", r.IntN(10000))
	}
	if r.IntN(4) == 0 {
		u.OtherMails = []string{asciiLocal(given) + "@" + pick(r, seedDomains)}
	}
	switch {
	case i%20 == 19:
		u.Guest = true
		u.UPN = local + "_fabrikam.example#EXT#@" + domain
		u.Mail = local + "@fabrikam.example"
	case i%25 == 24:
		u.Disabled = true
	case i%30 == 29:
		u.NoMailbox = true
	}
	if i%5 == 0 {
		u.Photo = seedPhoto(byte(i))
	}
	return u
}

// seedPhoto is a small valid JPEG (8×8, one colour from b).
func seedPhoto(b byte) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for p := 0; p < len(img.Pix); p += 4 {
		img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = b, 255-b, b/2, 255
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	return buf.Bytes()
}

// SeedDirectory adds n SeedUser users to a tenant (id or domain; "" the
// default) and gives everyone but the first tenth a manager among the
// first tenth. It returns their mailboxes in order.
func (s *Server) SeedDirectory(tenantIDOrDomain string, n int, seed int64) ([]*Mailbox, error) {
	t := s.tenantOf(tenantIDOrDomain)
	if t == nil {
		return nil, fmt.Errorf("graphsim: SeedDirectory: unknown tenant %q", tenantIDOrDomain)
	}
	bosses := max(1, n/10)
	out := make([]*Mailbox, 0, n)
	for i := range n {
		u := SeedUser(seed, i, t.domain)
		u.Tenant = t.id
		if i >= bosses {
			u.Manager = out[i%bosses].user.ID
		}
		out = append(out, s.AddUser(u))
	}
	return out, nil
}
