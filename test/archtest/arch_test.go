// Package archtest enforces the dependency direction of HOUSE_STYLE.md with
// `go list`: the domain imports the standard library only, adapters do not
// import each other, the HTTP layer knows no adapter, infra knows only the
// config names, and nothing imports a main package.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

const mod = "github.com/dispatchrelay/dispatch-relay/"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

func list(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, mod)] = p
	}
	return pkgs
}

// adapters implement the domain's ports for one outside system each.
var adapters = map[string]bool{
	"lambdas/boltstore": true, "lambdas/dynamo": true, "lambdas/memstore": true, "lambdas/s3audit": true,
	"lambdas/sqstimer": true, "lambdas/localtimer": true, "lambdas/emf": true, "lambdas/twilio": true,
	"lambdas/secrets": true, "lambdas/datafile": true,
}

func own(imports []string) []string {
	var out []string
	for _, i := range imports {
		if strings.HasPrefix(i, mod) {
			out = append(out, strings.TrimPrefix(i, mod))
		}
	}
	return out
}

// versioned matches an import path with a version element, such as
// crypto/internal/entropy/v1.0.0.
var versioned = regexp.MustCompile(`/v[0-9]+\.[0-9]+\.[0-9]+(/|$)`)

func TestDependencyDirection(t *testing.T) {
	pkgs := list(t)
	if _, ok := pkgs["lambdas/relay"]; !ok {
		t.Fatal("lambdas/relay not listed")
	}
	for _, d := range pkgs["lambdas/relay"].Deps {
		if strings.Contains(strings.Split(d, "/")[0], ".") {
			t.Errorf("the domain depends on %s; it may use the standard library only", d)
		}
		// The plain standard library: no versioned module inside it (the
		// crypto packages bring crypto/internal/entropy/v1.0.0 with them).
		if versioned.MatchString(d) {
			t.Errorf("the domain depends on %s; keep it to the plain standard library (no crypto)", d)
		}
	}
	for name, p := range pkgs {
		for _, imp := range own(p.Imports) {
			switch {
			case strings.HasPrefix(imp, "lambdas/cmd/"):
				t.Errorf("%s imports the main package %s", name, imp)
			case adapters[name] && adapters[imp]:
				t.Errorf("adapter %s imports adapter %s; adapters talk through the domain", name, imp)
			case name == "lambdas/httpapi" && imp != "lambdas/relay":
				t.Errorf("httpapi imports %s; the HTTP layer knows only the domain", imp)
			case strings.HasPrefix(name, "infra") && imp != "lambdas/config" && imp != "infra":
				t.Errorf("infra imports %s; it may use lambdas/config names only", imp)
			case name == "lambdas/config" && imp != "":
				t.Errorf("config imports %s; it must stay a leaf", imp)
			}
		}
	}
}

// TestLambdasLeaveOutToolLibraries keeps the OpenAPI validator (tests only)
// and the progress bar (relayctl only) out of the Lambda binaries.
func TestLambdasLeaveOutToolLibraries(t *testing.T) {
	pkgs := list(t)
	for _, main := range []string{"lambdas/cmd/api", "lambdas/cmd/escalator", "lambdas/cmd/devserver"} {
		for _, d := range pkgs[main].Deps {
			for _, banned := range []string{"github.com/getkin/kin-openapi", "github.com/schollz/progressbar"} {
				if strings.HasPrefix(d, banned) {
					t.Errorf("%s depends on %s", main, d)
				}
			}
		}
	}
	if len(pkgs["lambdas/cmd/api"].Deps) == 0 {
		t.Fatalf("go list gave no dependencies for lambdas/cmd/api")
	}
}
