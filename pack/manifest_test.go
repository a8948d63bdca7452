package pack

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func validManifest() *Manifest {
	h := strings.Repeat("ab", 32)
	return &Manifest{
		Format: Format, Name: "shop", Version: "1.0.0",
		Environments: []Environment{{Name: "a", Module: "modules/a.wasm", ModuleSHA256: h, ABI: 1, Config: "data/a.json", ConfigSHA256: h}},
		Datasets:     []Dataset{{Path: "data/b.json", SHA256: h}},
		Capabilities: []string{"backend:sqlite"},
	}
}

func TestValidate(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		edit   func(m *Manifest)
		errHas string // "" means valid
	}{
		{"valid", func(m *Manifest) {}, ""},
		{"prerelease version", func(m *Manifest) { m.Version = "1.0.0-rc.1+build.5" }, ""},
		{"same file twice same digest", func(m *Manifest) { m.Datasets = append(m.Datasets, Dataset{"data/a.json", h}) }, ""},
		{"missing format", func(m *Manifest) { m.Format = "" }, "format: missing"},
		{"other format", func(m *Manifest) { m.Format = "terrarium.pack/v2" }, "not supported"},
		{"missing name", func(m *Manifest) { m.Name = "" }, "name: missing"},
		{"upper-case name", func(m *Manifest) { m.Name = "Shop" }, "name:"},
		{"name with slash", func(m *Manifest) { m.Name = "a/b" }, "name:"},
		{"version with v", func(m *Manifest) { m.Version = "v1.0.0" }, "semantic version"},
		{"two-part version", func(m *Manifest) { m.Version = "1.0" }, "semantic version"},
		{"leading zero", func(m *Manifest) { m.Version = "01.0.0" }, "semantic version"},
		{"no environments", func(m *Manifest) { m.Environments = nil }, "at least one environment"},
		{"duplicate environment", func(m *Manifest) { m.Environments = append(m.Environments, m.Environments[0]) }, "duplicate environment"},
		{"abi 2", func(m *Manifest) { m.Environments[0].ABI = 2 }, "ABI version 2"},
		{"abi missing", func(m *Manifest) { m.Environments[0].ABI = 0 }, "ABI version 0"},
		{"short digest", func(m *Manifest) { m.Environments[0].ModuleSHA256 = "abc" }, "not 64 lower-case hex"},
		{"upper-case digest", func(m *Manifest) { m.Datasets[0].SHA256 = strings.ToUpper(h) }, "not 64 lower-case hex"},
		{"config digest without config", func(m *Manifest) { m.Environments[0].Config = "" }, "set without config"},
		{"dot-dot module", func(m *Manifest) { m.Environments[0].Module = "../a.wasm" }, `contains ".."`},
		{"inner dot-dot", func(m *Manifest) { m.Environments[0].Module = "modules/../../a.wasm" }, `contains ".."`},
		{"absolute dataset", func(m *Manifest) { m.Datasets[0].Path = "/etc/passwd" }, "is absolute"},
		{"backslash", func(m *Manifest) { m.Datasets[0].Path = `data\b.json` }, `'\'`},
		{"drive letter", func(m *Manifest) { m.Datasets[0].Path = "C:/b.json" }, `':'`},
		{"dot element", func(m *Manifest) { m.Datasets[0].Path = "./b.json" }, `contains "."`},
		{"empty element", func(m *Manifest) { m.Datasets[0].Path = "data//b.json" }, "empty element"},
		{"trailing slash", func(m *Manifest) { m.Datasets[0].Path = "data/" }, "empty element"},
		{"control char", func(m *Manifest) { m.Datasets[0].Path = "data/\nb" }, "control character"},
		{"reserved name", func(m *Manifest) { m.Datasets[0].Path = "pack.json" }, "reserved"},
		{"file and directory", func(m *Manifest) { m.Datasets[0].Path = "modules/a.wasm/x" }, "both a file and a directory"},
		{"case collision", func(m *Manifest) { m.Datasets[0].Path = "Data/A.json" }, "differ only in case"},
		{"same path other digest", func(m *Manifest) { m.Datasets[0].Path = "data/a.json"; m.Datasets[0].SHA256 = strings.Repeat("cd", 32) }, "listed twice with different digests"},
		{"bad capability", func(m *Manifest) { m.Capabilities = []string{"Net Access"} }, "is not a capability"},
		{"duplicate capability", func(m *Manifest) { m.Capabilities = []string{"net", "net"} }, "listed twice"},
		{"negative timeout", func(m *Manifest) { m.Limits.StepTimeoutMS = -1 }, "negative"},
		{"too much memory", func(m *Manifest) { m.Limits.MemoryPages = 70000 }, "memory_pages"},
		{"bad provenance digest", func(m *Manifest) { m.Provenance.SourceRecordsSHA256 = "xyz" }, "source_records_sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validManifest()
			tt.edit(m)
			err := m.Validate()
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidManifest) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Validate: %v, want ErrInvalidManifest containing %q", err, tt.errHas)
			}
		})
	}
}

func TestParseManifest(t *testing.T) {
	good, err := validManifest().Canonical()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		in     string
		errHas string
	}{
		{"canonical", string(good), ""},
		{"unknown field", strings.Replace(string(good), `"name"`, `"nmae": "x", "name"`, 1), "unknown field"},
		{"trailing data", string(good) + "{}", "data after"},
		{"not json", "pack", "invalid character"},
		{"truncated", string(good[:len(good)/2]), "unexpected EOF"},
		{"wrong type", strings.Replace(string(good), `"abi": 1`, `"abi": "1"`, 1), "cannot unmarshal"},
		{"too large", `{"format":"` + strings.Repeat("x", maxManifestBytes) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tt.in))
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("ParseManifest: %v", err)
				}
				if m.Name != "shop" {
					t.Fatalf("name %q, want shop", m.Name)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidManifest) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("ParseManifest: %v, want ErrInvalidManifest containing %q", err, tt.errHas)
			}
		})
	}
}

// The digest covers the manifest's content, not its formatting.
func TestDigestIgnoresFormatting(t *testing.T) {
	m := validManifest()
	canon, err := m.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	compact, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := ParseManifest(compact)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := m.Digest()
	d2, _ := m2.Digest()
	if d1 != d2 || d1 != digestOf(canon) {
		t.Fatalf("digests %s, %s, %s differ", d1, d2, digestOf(canon))
	}
	m2.Datasets[0].SHA256 = strings.Repeat("cd", 32)
	if d3, _ := m2.Digest(); d3 == d1 {
		t.Fatal("changing a file digest did not change the pack digest")
	}
}

func FuzzParseManifest(f *testing.F) {
	good, err := validManifest().Canonical()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"terrarium.pack/v1"}`))
	f.Add([]byte(`{"format":"terrarium.pack/v1","name":"a","version":"1.0.0","environments":[{"name":"a","module":"../x","module_sha256":"","abi":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidManifest) {
				t.Fatalf("error does not wrap ErrInvalidManifest: %v", err)
			}
			return
		}
		// Whatever parses must validate, name only safe paths, and
		// survive a round trip through its canonical form unchanged.
		for _, fl := range m.Files() {
			if err := CheckPath(fl.Path); err != nil {
				t.Fatalf("accepted unsafe path: %v", err)
			}
		}
		c1, err := m.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(c1)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, c1)
		}
		c2, _ := m2.Canonical()
		if string(c1) != string(c2) {
			t.Fatalf("canonical form not stable:\n%s\n%s", c1, c2)
		}
	})
}
