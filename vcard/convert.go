package vcard

import "strings"

// ConvertTo returns a converted copy of c in version (V30 or V40; V21 gives
// 3.0, since 2.1 is never written). Converting to 4.0: PHOTO/LOGO/SOUND/KEY
// ENCODING=b;TYPE=JPEG become data:image/jpeg;base64, URIs, TYPE=pref
// becomes PREF=1, X-ADDRESSBOOKSERVER-KIND/MEMBER become KIND/MEMBER, a
// VALUE=uri that is the 4.0 default is dropped and, from 3.0, a global
// telephone number written only with digits and - . ( ) becomes a tel: URI.
// Converting to 3.0 does the reverse: data: URIs become ENCODING=b, PREF=1
// becomes TYPE=pref (other PREF values are kept), KIND/MEMBER become
// Apple's X-ADDRESSBOOKSERVER- forms, TEL;VALUE=uri:tel:+1-555 becomes
// the text +1-555 and other PHOTO URIs get VALUE=uri. Converting to the
// card's own version applies the same fixes to stray properties of the
// other version and leaves the rest alone. Names and parameters Export
// gave the XPrefix lose it when version defines them. ConvertTo maps one
// property to one, in order; Export gives the strict form clients read.
func (c *Card) ConvertTo(version string) *Card {
	to4 := version == V40
	if !to4 {
		version = V30
	}
	fromOther := (c.Version == V40) != to4
	out := &Card{Version: version, Props: make([]Property, 0, len(c.Props))}
	for _, p := range c.Props {
		p = p.clone()
		if to4 {
			p = toV4(p, fromOther)
		} else {
			p = toV3(p)
		}
		out.Props = append(out.Props, p)
	}
	return out
}

// uriDefault reports whether a property's value is a URI by default in 4.0.
func uriDefault(name string) bool {
	switch name {
	case "PHOTO", "LOGO", "SOUND", "KEY", "URL", "MEMBER", "X-ADDRESSBOOKSERVER-MEMBER", "IMPP",
		"SOURCE", "FBURL", "CALURI", "CALADRURI", "RELATED", "GEO", "ORG-DIRECTORY", "CONTACT-URI":
		return true
	}
	return false
}

// isMediaProp reports whether a property may hold inline binary data.
func isMediaProp(name string) bool {
	switch name {
	case "PHOTO", "LOGO", "SOUND", "KEY":
		return true
	}
	return false
}

// appleX is the prefix of Apple's 3.0 names for the 4.0 KIND and MEMBER.
const appleX = "X-ADDRESSBOOKSERVER-"

// respell gives p the spelling of its new version: the names and params
// that version defines are restored to their canonical case, and KIND and
// MEMBER take Apple's 3.0 names (X-ADDRESSBOOKSERVER-KIND, -MEMBER) in 3.0
// and their own in 4.0.
func respell(p Property, props, params map[string]bool, v4 bool) Property {
	p.Name = restoreName(p.Name, props)
	p.Params = restoreParams(p.Params, params)
	apple := func(n string) bool { return n == "KIND" || n == "MEMBER" }
	if n, ok := strings.CutPrefix(p.Name, appleX); v4 && ok && apple(n) {
		p.Name = n
	} else if !v4 && apple(p.Name) {
		p.Name = appleX + p.Name
	}
	return p
}

// toV4 converts one property (whose Params p owns) to its 4.0 form.
func toV4(p Property, fromV3 bool) Property {
	p = respell(p, props40, params40, true)
	k := p.kind()
	// TYPE=pref -> PREF=1
	pref := false
	mediaType := ""
	for i := 0; i < len(p.Params); i++ {
		q := &p.Params[i]
		if q.Name != "TYPE" {
			continue
		}
		vals := q.Values[:0]
		for _, v := range q.Values {
			switch {
			case strings.EqualFold(v, "pref"):
				pref = true
			case k == kindBinary && mediaType == "" && isMediaProp(p.Name):
				mediaType = v
			default:
				vals = append(vals, v)
			}
		}
		q.Values = vals
	}
	if pref || mediaType != "" {
		p.Params = dropEmpty(p.Params)
	}
	if pref && paramFirst(p.Params, "PREF") == "" {
		p.Params = append(p.Params, Param{Name: "PREF", Values: []string{"1"}})
	}
	switch {
	case k == kindBinary:
		p.Params = removeParam(p.Params, "ENCODING")
		p.Value = "data:" + mediaTypeOf(p.Name, mediaType, p.Value) + ";base64," + p.Value
	case k == kindURI && uriDefault(p.Name):
		if v := paramFirst(p.Params, "VALUE"); strings.EqualFold(v, "uri") || strings.EqualFold(v, "url") {
			p.Params = removeParam(p.Params, "VALUE")
		}
	case fromV3 && p.Name == "TEL" && k == kindText:
		if t := p.Text(); telURIable(t) {
			p.Params = append([]Param{{Name: "VALUE", Values: []string{"uri"}}}, removeParam(p.Params, "VALUE")...)
			p.Value = "tel:" + t
		}
	}
	return p
}

// toV3 converts one property (whose Params p owns) to its 3.0 form.
func toV3(p Property) Property {
	p = respell(p, props30, params30, false)
	// PREF=1 -> TYPE=pref
	if v := paramFirst(p.Params, "PREF"); strings.TrimSpace(v) == "1" {
		p.Params = removeParam(p.Params, "PREF")
		if !p.HasType("pref") {
			p.Params = addParam(p.Params, "TYPE", "pref")
		}
	}
	k := p.kind()
	switch {
	case k == kindURI && isMediaProp(p.Name):
		if mime, data, ok := parseDataURI(p.Value); ok {
			params := make([]Param, 0, len(p.Params)+2)
			params = append(params, Param{Name: "ENCODING", Values: []string{"b"}})
			if t := formatTypeOf(mime); t != "" {
				params = append(params, Param{Name: "TYPE", Values: []string{t}})
			}
			for _, q := range p.Params {
				switch q.Name {
				case "VALUE", "MEDIATYPE":
					continue
				case "TYPE":
					if len(params) > 1 && params[1].Name == "TYPE" {
						params[1].Values = append(params[1].Values, q.Values...)
						continue
					}
				}
				params = append(params, q)
			}
			p.Params = params
			p.Value = data
		} else if paramFirst(p.Params, "VALUE") == "" {
			p.Params = append(p.Params, Param{Name: "VALUE", Values: []string{"uri"}})
		}
	case p.Name == "TEL" && k == kindURI && hasPrefixFold(p.Value, "tel:"):
		p.Params = removeParam(p.Params, "VALUE")
		p.Value = escapeText(p.Value[4:], false)
	}
	return p
}

// restoreParams takes the XPrefix off the parameters the version defines
// (Export put it there). It writes into params.
func restoreParams(params []Param, known map[string]bool) []Param {
	for i := range params {
		if n := params[i].Name; strings.HasPrefix(n, XPrefix) && known[n[len(XPrefix):]] {
			params[i].Name = n[len(XPrefix):]
		}
	}
	return params
}

// dropEmpty removes parameters left without values.
func dropEmpty(params []Param) []Param {
	out := params[:0]
	for _, q := range params {
		if len(q.Values) > 0 {
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// telURIable reports whether a text telephone number can be written as a
// tel: URI without change: a global number ('+' then digits and the visual
// separators - . ( )), optionally followed by ;ext=digits.
func telURIable(t string) bool {
	if len(t) < 2 || t[0] != '+' {
		return false
	}
	if i := strings.Index(t, ";ext="); i > 0 {
		ext := t[i+5:]
		if ext == "" {
			return false
		}
		for j := 0; j < len(ext); j++ {
			if ext[j] < '0' || ext[j] > '9' {
				return false
			}
		}
		t = t[:i]
	}
	digits := 0
	for i := 1; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digits > 0
}

// parseDataURI splits a base64 data: URI into its media type and data.
func parseDataURI(v string) (mime, data string, ok bool) {
	if !hasPrefixFold(v, "data:") {
		return "", "", false
	}
	comma := strings.IndexByte(v, ',')
	if comma < 0 {
		return "", "", false
	}
	head := v[5:comma]
	const b64 = ";base64"
	if len(head) < len(b64) || !strings.EqualFold(head[len(head)-len(b64):], b64) {
		return "", "", false
	}
	return head[:len(head)-len(b64)], v[comma+1:], true
}

// mediaTypeOf returns the MIME type for a 3.0 TYPE format value (JPEG,
// image/png...), sniffing base64 data when there is none.
func mediaTypeOf(name, format, data string) string {
	t := lowerASCII(strings.TrimSpace(format))
	if strings.IndexByte(t, '/') >= 0 {
		return t
	}
	switch t {
	case "jpeg", "jpg", "pjpeg":
		return "image/jpeg"
	case "tif", "tiff":
		return "image/tiff"
	case "pgp", "gpg":
		return "application/pgp-keys"
	case "x509":
		return "application/pkix-cert"
	case "wave", "wav":
		return "audio/wav"
	case "mp3":
		return "audio/mpeg"
	case "":
		switch {
		case strings.HasPrefix(data, "/9j/"):
			return "image/jpeg"
		case strings.HasPrefix(data, "iVBOR"):
			return "image/png"
		case strings.HasPrefix(data, "R0lGOD"):
			return "image/gif"
		}
		return "application/octet-stream"
	}
	switch name {
	case "SOUND":
		return "audio/" + t
	case "KEY":
		return "application/" + t
	}
	return "image/" + t
}

// formatTypeOf returns the 3.0 TYPE format value for a MIME type, or "".
func formatTypeOf(mime string) string {
	m := lowerASCII(strings.TrimSpace(mime))
	if i := strings.IndexByte(m, ';'); i >= 0 {
		m = m[:i]
	}
	switch m {
	case "", "application/octet-stream":
		return ""
	case "image/jpeg":
		return "JPEG"
	case "application/pgp-keys":
		return "PGP"
	case "application/pkix-cert":
		return "X509"
	case "audio/wav":
		return "WAVE"
	case "audio/mpeg":
		return "MP3"
	}
	if i := strings.IndexByte(m, '/'); i >= 0 {
		return upperASCII(m[i+1:])
	}
	return upperASCII(m)
}
