package engine_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
)

// TestCapabilityTypesMatchSideGo checks that engine.CapabilityTypes lists
// every interface declared in side.go except Side, in declaration order,
// so that a new capability cannot be left out of the wrappers that
// forward capabilities (sidetest.Faults).
func TestCapabilityTypesMatchSideGo(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "side.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, sp := range g.Specs {
			ts := sp.(*ast.TypeSpec)
			if _, ok := ts.Type.(*ast.InterfaceType); ok && ts.Name.Name != "Side" {
				declared = append(declared, ts.Name.Name)
			}
		}
	}
	var listed []string
	for _, c := range engine.CapabilityTypes() {
		listed = append(listed, c.Name())
	}
	if !slices.Equal(declared, listed) {
		t.Errorf("side.go declares capabilities %v, CapabilityTypes lists %v", declared, listed)
	}
}
