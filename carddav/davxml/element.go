package davxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// Element is an XML element: one of a request body as the server reads it
// (Parse), or a property as the server writes it (Writer.Element).
type Element struct {
	Name     xml.Name
	Attr     []xml.Attr
	Children []*Element
	// Text is the element's character data (of all its text nodes).
	Text string
}

// Is reports whether e is not nil and named name.
func (e *Element) Is(name xml.Name) bool { return e != nil && e.Name == name }

// Child returns the first child of e named name, or nil (also for a nil e).
func (e *Element) Child(name xml.Name) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ChildrenOrNil returns the children of e, nil for a nil e.
func (e *Element) ChildrenOrNil() []*Element {
	if e == nil {
		return nil
	}
	return e.Children
}

// AttrValue returns the value of the attribute local (of any namespace),
// "" when e has none.
func (e *Element) AttrValue(local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// Empty returns an element named name without content.
func Empty(name xml.Name) *Element { return &Element{Name: name} }

// Text returns an element named name holding text.
func Text(name xml.Name, text string) *Element { return &Element{Name: name, Text: text} }

// Elem returns an element named name holding children.
func Elem(name xml.Name, children ...*Element) *Element {
	return &Element{Name: name, Children: children}
}

// Href returns a DAV:href element holding href.
func Href(href string) *Element { return Text(DAV("href"), href) }

// HrefProp returns an element named name holding one DAV:href (e.g.
// DAV:current-user-principal, CARDDAV:addressbook-home-set).
func HrefProp(name xml.Name, href string) *Element { return Elem(name, Href(href)) }

// Limits bound what Parse accepts.
type Limits struct {
	// MaxDepth is the deepest element nesting accepted.
	MaxDepth int
	// MaxName is the longest element (namespace and local name) or
	// attribute name accepted, in bytes.
	MaxName int
}

// Parse reads data as one XML document: nil and no error when data is
// blank; an error saying why for a document that is not well-formed, holds
// a DOCTYPE or other directive, has more than one root element, nests
// deeper than l.MaxDepth or has a name longer than l.MaxName.
func Parse(data []byte, l Limits) (*Element, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var root *Element
	var stack []*Element
	var texts [][]byte // the text of each open element
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errors.New("DOCTYPE and other directives are not accepted")
		case xml.StartElement:
			if len(stack) >= l.MaxDepth {
				return nil, fmt.Errorf("elements nested deeper than %d", l.MaxDepth)
			}
			if len(t.Name.Space)+len(t.Name.Local) > l.MaxName {
				return nil, fmt.Errorf("an element name longer than %d bytes", l.MaxName)
			}
			for _, a := range t.Attr {
				if len(a.Name.Local) > l.MaxName {
					return nil, fmt.Errorf("an attribute name longer than %d bytes", l.MaxName)
				}
			}
			e := &Element{Name: t.Name, Attr: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = e
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, e)
			}
			stack = append(stack, e)
			texts = append(texts, nil)
		case xml.EndElement:
			n := len(stack) - 1
			stack[n].Text = string(texts[n])
			stack, texts = stack[:n], texts[:n]
		case xml.CharData:
			if n := len(texts); n > 0 {
				texts[n-1] = append(texts[n-1], t...)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}
