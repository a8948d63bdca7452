package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A scaffolded environment works as written: the conformance checker
// passes on it.
func TestEnvNewScaffoldPasses(t *testing.T) {
	for _, lang := range []string{"go", "js"} {
		t.Run(lang, func(t *testing.T) {
			root, err := filepath.Abs("../..")
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "counter")
			mustRun(t, "env", "new", "counter", "--lang", lang, "-o", dir, "--sdk", root)
			if code, out, errOut := terrarium(t, "env", "test", "--tasks", "5", dir); code != exitOK || !strings.Contains(out, "0 failed") {
				t.Fatalf("env test of the scaffold: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestEnvNewRefusals(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad name", []string{"env", "new", "Bad Name", "-o", filepath.Join(dir, "x")}, exitUsage, "lower case"},
		{"bad lang", []string{"env", "new", "ok", "--lang", "cobol", "-o", filepath.Join(dir, "y")}, exitUsage, "want go or js"},
		{"exists", []string{"env", "new", "ok", "-o", dir}, exitFailure, "already exists"},
		{"no sdk outside a checkout", []string{"env", "new", "ok", "-o", filepath.Join(dir, "z")}, exitFailure, "--sdk"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := terrarium(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, %q; want exit %d mentioning %q", code, errOut, tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "z")); err == nil {
		t.Error("a refused scaffold left files behind")
	}
}
