package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/terrarium-rl/terrarium/abi"
)

// Format is the value of Manifest.Format for this version of the format.
const Format = "terrarium.pack/v1"

// ManifestFile is the name of the manifest at the root of a pack.
const ManifestFile = "pack.json"

// SignatureFile is the name of a pack's detached signature, next to the
// manifest. It is not listed in the manifest (it signs it).
const SignatureFile = "pack.sig"

// Manifest describes a pack: what it contains, pinned by digest, what it
// may use and where it came from. It is stored as pack.json at the root of
// the pack; docs/pack.md documents every field.
//
// The zero value is not a valid manifest: Format, Name, Version and at least
// one environment are required.
type Manifest struct {
	// Format is always "terrarium.pack/v1" (the constant Format).
	Format string `json:"format"`
	// Name is the pack's name: lower case letters, digits, '.', '_' and
	// '-', starting with a letter or digit, at most 128 bytes.
	Name string `json:"name"`
	// Version is a semantic version (https://semver.org), without a "v".
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// License is an SPDX license expression, for example "Apache-2.0".
	License string `json:"license,omitempty"`
	// Environments lists the pack's environments; at least one.
	Environments []Environment `json:"environments"`
	// Datasets lists the task data files the pack ships. A file named as
	// an environment's config need not be listed again, but may be.
	Datasets []Dataset `json:"datasets,omitempty"`
	// Capabilities lists what the environments may use beyond the
	// sandbox; the user must grant each one at run time. See
	// CheckCapabilities.
	Capabilities []string `json:"capabilities,omitempty"`
	// Limits bounds each episode. Zero fields mean the host's defaults.
	Limits Limits `json:"limits,omitzero"`
	// Provenance records how the pack was made. It is informational: it
	// is covered by the pack digest and the signature, but not checked.
	Provenance Provenance `json:"provenance,omitzero"`
}

// Environment is one environment of a pack: a WebAssembly module and an
// optional configuration blob handed to its terrarium_configure export.
type Environment struct {
	// Name names the environment within the pack (same syntax as
	// Manifest.Name).
	Name string `json:"name"`
	// Module is the module's path in the pack, for example
	// "modules/shop.wasm".
	Module string `json:"module"`
	// ModuleSHA256 is the hex SHA-256 of the module's bytes.
	ModuleSHA256 string `json:"module_sha256"`
	// ABI is the environment ABI version the module speaks (abi.Version).
	ABI int `json:"abi"`
	// Config, when not empty, is the path of the configuration blob.
	Config string `json:"config,omitempty"`
	// ConfigSHA256 is the hex SHA-256 of the configuration blob; required
	// with Config.
	ConfigSHA256 string `json:"config_sha256,omitempty"`
}

// Dataset is a task data file of a pack.
type Dataset struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Limits bounds each episode of the pack's environments. A zero field
// leaves the host's default in place.
type Limits struct {
	// MemoryPages bounds linear memory, in 64 KiB pages.
	MemoryPages uint32 `json:"memory_pages,omitempty"`
	// StepTimeoutMS bounds the wall-clock time of one call into the guest.
	StepTimeoutMS int64 `json:"step_timeout_ms,omitempty"`
	// OutputLimitBytes bounds the guest's captured output per episode.
	OutputLimitBytes int `json:"output_limit_bytes,omitempty"`
	// FuelPerStep is the deterministic per-step compute budget, in
	// instrumentation fuel units, where the host supports it.
	FuelPerStep uint64 `json:"fuel_per_step,omitempty"`
}

// Provenance records how a pack was made.
type Provenance struct {
	// SourceRecordsSHA256 is the hex SHA-256 of the source the pack was
	// compiled from (for example an ASTRA records file).
	SourceRecordsSHA256 string `json:"source_records_sha256,omitempty"`
	// Compiler names the program that made the pack, with its version.
	Compiler string `json:"compiler,omitempty"`
	// Toolchain names the toolchain that built the modules, for example
	// "go1.26.8 wasip1/wasm".
	Toolchain string `json:"toolchain,omitempty"`
}

// Limits on what a manifest may hold, so that a hostile one cannot make the
// reader allocate without bound.
const (
	maxManifestBytes  = 1 << 20
	maxSignatureBytes = 4 << 10
	maxNameLen        = 128
	maxPathLen        = 256
	maxEntries        = 4096
	maxTextLen        = 4096
)

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	// semverRE is the regular expression suggested by semver.org.
	semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	hexRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// A capability is a kind, optionally followed by ':' and an argument,
	// for example "backend:sqlite".
	capRE = regexp.MustCompile(`^[a-z][a-z0-9-]*(:[A-Za-z0-9._/@-]+)?$`)
)

// Validate checks the manifest's syntax and consistency: required fields,
// names, semver, digests, safe relative paths and no duplicates. It does not
// read files; Load and Open check digests against content.
func (m *Manifest) Validate() error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	return nil
}

func (m *Manifest) validate() error {
	if m.Format != Format {
		if m.Format == "" {
			return errors.New("format: missing (want " + Format + ")")
		}
		return fmt.Errorf("format: %q is not supported (want %s)", m.Format, Format)
	}
	if err := checkName(m.Name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if !semverRE.MatchString(m.Version) {
		return fmt.Errorf("version: %q is not a semantic version such as 1.0.0", m.Version)
	}
	for field, s := range map[string]string{"description": m.Description, "license": m.License,
		"provenance.compiler": m.Provenance.Compiler, "provenance.toolchain": m.Provenance.Toolchain} {
		if len(s) > maxTextLen || !utf8.ValidString(s) {
			return fmt.Errorf("%s: longer than %d bytes or not UTF-8", field, maxTextLen)
		}
	}
	if s := m.Provenance.SourceRecordsSHA256; s != "" && !hexRE.MatchString(s) {
		return fmt.Errorf("provenance.source_records_sha256: %q is not 64 lower-case hex digits", s)
	}
	if len(m.Environments) == 0 {
		return errors.New("environments: at least one environment is required")
	}
	if len(m.Environments) > maxEntries || len(m.Datasets) > maxEntries || len(m.Capabilities) > maxEntries {
		return fmt.Errorf("more than %d environments, datasets or capabilities", maxEntries)
	}
	// files maps every path to its digest: a path named twice must name
	// the same content, and no path may be both a file and a directory.
	files := map[string]string{}
	addFile := func(field, p, sum string) error {
		if err := CheckPath(p); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		if !hexRE.MatchString(sum) {
			return fmt.Errorf("%s: digest %q is not 64 lower-case hex digits", field, sum)
		}
		if old, ok := files[p]; ok && old != sum {
			return fmt.Errorf("%s: %s is listed twice with different digests", field, p)
		}
		files[p] = sum
		return nil
	}
	envs := map[string]bool{}
	for i, e := range m.Environments {
		field := fmt.Sprintf("environments[%d]", i)
		if err := checkName(e.Name); err != nil {
			return fmt.Errorf("%s.name: %w", field, err)
		}
		if envs[e.Name] {
			return fmt.Errorf("%s.name: duplicate environment %q", field, e.Name)
		}
		envs[e.Name] = true
		if e.ABI != abi.Version {
			return fmt.Errorf("%s.abi: ABI version %d is not supported (want %d)", field, e.ABI, abi.Version)
		}
		if err := addFile(field+".module", e.Module, e.ModuleSHA256); err != nil {
			return err
		}
		switch {
		case e.Config != "":
			if err := addFile(field+".config", e.Config, e.ConfigSHA256); err != nil {
				return err
			}
		case e.ConfigSHA256 != "":
			return fmt.Errorf("%s.config_sha256: set without config", field)
		}
	}
	for i, d := range m.Datasets {
		if err := addFile(fmt.Sprintf("datasets[%d]", i), d.Path, d.SHA256); err != nil {
			return err
		}
	}
	folded := map[string]string{}
	for p := range files {
		// Two paths differing only in case would collide on macOS and
		// Windows file systems.
		if q, ok := folded[strings.ToLower(p)]; ok {
			return fmt.Errorf("%s and %s differ only in case", min(p, q), max(p, q))
		}
		folded[strings.ToLower(p)] = p
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if _, ok := files[dir]; ok {
				return fmt.Errorf("%s is both a file and a directory", dir)
			}
		}
	}
	seen := map[string]bool{}
	for i, c := range m.Capabilities {
		if !capRE.MatchString(c) || len(c) > maxNameLen {
			return fmt.Errorf("capabilities[%d]: %q is not a capability (kind or kind:argument, for example backend:sqlite)", i, c)
		}
		if seen[c] {
			return fmt.Errorf("capabilities[%d]: %q is listed twice", i, c)
		}
		seen[c] = true
	}
	if m.Limits.StepTimeoutMS < 0 || m.Limits.OutputLimitBytes < 0 {
		return errors.New("limits: negative value")
	}
	if m.Limits.MemoryPages > 65536 {
		return fmt.Errorf("limits.memory_pages: %d is more than 65536 (4 GiB)", m.Limits.MemoryPages)
	}
	return nil
}

func checkName(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	if len(s) > maxNameLen || !nameRE.MatchString(s) {
		return fmt.Errorf("%q must be lower-case letters, digits, '.', '_' or '-', start with a letter or digit, and be at most %d bytes", s, maxNameLen)
	}
	return nil
}

// CheckPath reports whether p may name a file in a pack: a clean, relative,
// slash-separated path without "." or ".." elements, backslashes, control
// characters or a leading '/', and not one of the reserved names pack.json
// and pack.sig.
func CheckPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty path", ErrUnsafePath)
	case len(p) > maxPathLen:
		return fmt.Errorf("%w: path longer than %d bytes", ErrUnsafePath, maxPathLen)
	case !utf8.ValidString(p):
		return fmt.Errorf("%w: %q is not UTF-8", ErrUnsafePath, p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrUnsafePath, p)
	case strings.ContainsAny(p, "\\:"):
		return fmt.Errorf("%w: %q contains '\\' or ':'", ErrUnsafePath, p)
	case p == ManifestFile || p == SignatureFile:
		return fmt.Errorf("%w: %q is reserved", ErrUnsafePath, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %q contains a control character", ErrUnsafePath, p)
		}
	}
	for _, el := range strings.Split(p, "/") {
		switch el {
		case "":
			return fmt.Errorf("%w: %q has an empty element", ErrUnsafePath, p)
		case ".", "..":
			return fmt.Errorf("%w: %q contains %q", ErrUnsafePath, p, el)
		}
	}
	return nil
}

// ParseManifest decodes and validates a manifest. Unknown fields, trailing
// data and inputs over 1 MiB are refused: a v1 reader must not silently
// ignore what a newer writer meant.
func ParseManifest(b []byte) (*Manifest, error) {
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidManifest, maxManifestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the manifest object", ErrInvalidManifest)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Canonical returns the manifest's canonical encoding: what Finalize
// writes and what the pack digest covers. It is encoding/json's output for
// the struct (fields in declaration order, empty optional fields omitted,
// no HTML escaping), indented by two spaces, with a final newline.
func (m *Manifest) Canonical() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// Digest returns the pack digest: "sha256:" and the hex SHA-256 of the
// canonical manifest. Because the manifest pins every file by digest, this
// one value identifies the whole pack; signatures and lockfiles refer to it.
func (m *Manifest) Digest() (string, error) {
	b, err := m.Canonical()
	if err != nil {
		return "", err
	}
	return digestOf(b), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Files returns every file the manifest names, each once, with its hex
// digest, sorted by path.
func (m *Manifest) Files() []Dataset {
	seen := map[string]bool{}
	var out []Dataset
	add := func(p, sum string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, Dataset{Path: p, SHA256: sum})
		}
	}
	for _, e := range m.Environments {
		add(e.Module, e.ModuleSHA256)
		add(e.Config, e.ConfigSHA256)
	}
	for _, d := range m.Datasets {
		add(d.Path, d.SHA256)
	}
	sortFiles(out)
	return out
}

// Environment returns the environment called name, or the only one when
// name is empty.
func (m *Manifest) Environment(name string) (*Environment, error) {
	if name == "" {
		if len(m.Environments) == 1 {
			return &m.Environments[0], nil
		}
		return nil, fmt.Errorf("%w: the pack has %d environments (%s); name one", ErrNoEnvironment, len(m.Environments), m.envNames())
	}
	for i := range m.Environments {
		if m.Environments[i].Name == name {
			return &m.Environments[i], nil
		}
	}
	return nil, fmt.Errorf("%w: no environment %q in the pack (it has %s)", ErrNoEnvironment, name, m.envNames())
}

func (m *Manifest) envNames() string {
	var names []string
	for _, e := range m.Environments {
		names = append(names, e.Name)
	}
	return strings.Join(names, ", ")
}
