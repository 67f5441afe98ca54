package models

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sqlMethods are the gorm calls that take SQL text as their first
// argument.
var sqlMethods = map[string]bool{"Raw": true, "Exec": true}

// vettedSQL are the calls whose SQL text is put together from pieces,
// each of which is itself constant SQL chosen by the code, never input:
// by file and function, with the reason. A new such call fails the test
// until it is read and listed here.
var vettedSQL = map[string]string{
	"delete_store.go deleteHeld":        "h.where is one of the holder constants of delete_store.go, table one of the table names passed there; the ids are ? parameters",
	"queue_store.go PickOpenTask":       "the query is pickSQL's, built from constant fragments; every value is in args",
	"queue_store.go PurgeExpiredLeases": "lock is \"\" or the constant FOR UPDATE SKIP LOCKED, by dialect",
}

// TestSQLBuiltOnlyWithParameters reads the package's non-test sources and
// fails, naming file:line, where the SQL text given to Raw or Exec is
// anything but a constant: string literals, named constants and their
// concatenation. Values must travel as ? parameters, never in the text.
func TestSQLBuiltOnlyWithParameters(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*ast.File
	consts := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						consts[n.Name] = true
					}
				}
			}
		}
	}
	if len(parsed) == 0 {
		t.Fatal("no sources read: the test runs in the wrong folder")
	}
	calls := 0
	seen := map[string]bool{}
	for _, f := range parsed {
		file := fset.Position(f.Pos()).Filename
		fn := ""
		ast.Inspect(f, func(n ast.Node) bool {
			if d, ok := n.(*ast.FuncDecl); ok {
				fn = d.Name.Name
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !sqlMethods[sel.Sel.Name] {
				return true
			}
			calls++
			if constantSQL(call.Args[0], consts) {
				return true
			}
			if key := file + " " + fn; vettedSQL[key] != "" {
				seen[key] = true
				return true
			}
			{
				t.Errorf("%s: %s's SQL is not a constant: pass values as ? parameters", fset.Position(call.Args[0].Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	for key := range vettedSQL {
		if !seen[key] {
			t.Errorf("vettedSQL lists %s, which builds no SQL any more: remove it", key)
		}
	}
	t.Logf("%d Raw/Exec calls checked in %d files", calls, len(parsed))
}

// constantSQL is whether e is built only of string literals and package
// constants.
func constantSQL(e ast.Expr, consts map[string]bool) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.Ident:
		return consts[e.Name]
	case *ast.ParenExpr:
		return constantSQL(e.X, consts)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && constantSQL(e.X, consts) && constantSQL(e.Y, consts)
	}
	return false
}

// TestConstantSQLRule checks the rule itself on the shapes it must allow
// and refuse.
func TestConstantSQLRule(t *testing.T) {
	consts := map[string]bool{"allowed": true}
	for _, tt := range []struct {
		expr string
		want bool
	}{
		{"`SELECT 1`", true},
		{"`SELECT ` + allowed + ` FROM t`", true},
		{"(`a` + `b`)", true},
		{"`SELECT * FROM t WHERE name = '` + name + `'`", false},
		{"fmt.Sprintf(`SELECT %s`, allowed)", false},
		{"query", false},
	} {
		e, err := parser.ParseExpr(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := constantSQL(e, consts); got != tt.want {
			t.Errorf("%s: constant %v, want %v", tt.expr, got, tt.want)
		}
	}
}
