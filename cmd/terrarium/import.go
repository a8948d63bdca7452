package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/internal/astra"
	"github.com/terrarium-rl/terrarium/internal/astra/task"
	"github.com/terrarium-rl/terrarium/internal/progress"
	"github.com/terrarium-rl/terrarium/pack"
)

var importFlags struct {
	out         string
	distractors int
	reward      string
	name        string
	version     string
	maxTurns    int
	force       bool
	skipped     string
	kind        string
}

var cmdImport = &Command{
	Name:  "import",
	Short: "compile tasks from other formats into packs",
	Sub:   []*Command{cmdImportAstra},
}

// maxSkipLines bounds the skipped records printed to stderr; --skipped
// writes them all.
const maxSkipLines = 20

var cmdImportAstra = &Command{
	Name:  "astra",
	Usage: "import astra RECORDS.jsonl -o DIR [--kind go|js] [--distractors K] [--reward MODE] [flags]",
	Short: "compile ASTRA environment records into a pack",
	Long: `Import astra compiles ASTRA environment-synthesis records (JSON Lines, one
task per line; - reads stdin) into a pack in DIR: the ASTRA runner module
(modules/astra.wasm), the compiled tasks (data/tasks.json) and pack.json.
With --kind js the pack holds instead one JavaScript environment
(data/env.js: the tasks and a port of the runner, readable and editable)
and the JavaScript runner (modules/jsrunner.wasm); both kinds give the same
episodes. Run it with 'terrarium run --env DIR'.

Each record becomes one task: its main question is the user message, its
synthesized tools are offered, and a call whose arguments match a verified
call (after filling schema defaults, ignoring key order, folding case and
surrounding space of strings) is answered with the recorded output; other
calls get a "no record for these arguments" tool error. The reward is
ASTRA's F1 of sub-question recall and call precision (--reward f1), that
times a normalized match of the final answer (f1*final), or the final match
alone (final). --distractors K adds K tools of other records to every
episode, drawn with the episode's seed from near, mid and far similarity
bands. docs/astra.md has the details.

A record that cannot be compiled (no schema, unparsable call statement,
sub-answer not in the tool's output, ...) is reported with its line, uuid
and reason, and skipped. A progress bar is drawn on a terminal. Exit status
1 when no record compiled.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVarP(&importFlags.out, "output", "o", "", "pack directory to write (required)")
		fs.IntVar(&importFlags.distractors, "distractors", 0, "distractor tools added to each episode")
		fs.StringVar(&importFlags.reward, "reward", string(task.ModeF1), "reward: f1, f1*final or final")
		fs.StringVar(&importFlags.name, "name", "astra", "pack and environment name")
		fs.StringVar(&importFlags.version, "version", "1.0.0", "pack version")
		fs.IntVar(&importFlags.maxTurns, "max-turns", 0, "suggested turn limit (default: from the deepest task)")
		fs.BoolVar(&importFlags.force, "force", false, "replace DIR if it holds a pack")
		fs.StringVar(&importFlags.skipped, "skipped", "", "write every skipped record to this file as JSON lines")
		fs.StringVar(&importFlags.kind, "kind", string(astra.KindGo), "output kind: go (the Go runner) or js (a JavaScript env)")
	},
	Run: runImportAstra,
}

func runImportAstra(ctx context.Context, inv *Invocation) error {
	f := &importFlags
	if len(inv.Args) != 1 {
		return usagef("want one records file")
	}
	if f.out == "" {
		return usagef("-o DIR is required")
	}
	mode := task.Mode(f.reward)
	if !mode.Valid() || mode == "" {
		return usagef("--reward %q: want f1, f1*final or final", f.reward)
	}
	kind := astra.Kind(f.kind)
	if kind != astra.KindGo && kind != astra.KindJS {
		return usagef("--kind %q: want go or js", f.kind)
	}
	if f.distractors < 0 || f.maxTurns < 0 {
		return usagef("--distractors and --max-turns must not be negative")
	}
	if err := prepareDir(f.out, f.force); err != nil {
		return err
	}
	var in io.Reader = os.Stdin
	size := int64(-1)
	if name := inv.Args[0]; name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return err
		}
		defer file.Close()
		if fi, err := file.Stat(); err == nil {
			size = fi.Size()
		}
		in = file
	}
	bar := progress.New(inv.Stderr, int(size), "import")
	res, err := astra.Compile(ctx, in, astra.Options{
		Name: f.name, Version: f.version, Mode: mode, Distractors: f.distractors, MaxTurns: f.maxTurns,
		Progress: func(p astra.Progress) { bar.Set(int(p.Bytes)) },
	})
	bar.Finish()
	if res != nil {
		reportSkipped(inv.Stderr, res.Skipped)
		if f.skipped != "" {
			if werr := writeSkipped(f.skipped, res.Skipped); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		return err
	}
	digest, err := astra.WritePackKind(f.out, res, kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(inv.Stdout, "imported %d tasks from %d records (%d skipped) into %s\n%s\n",
		len(res.Tasks), res.Records, len(res.Skipped), f.out, digest)
	return nil
}

// prepareDir checks that dir can receive a pack: absent, empty, or (with
// force) an earlier pack, which is removed.
func prepareDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return err
	case len(entries) == 0:
		return nil
	case force && pack.IsDir(dir):
		return os.RemoveAll(dir)
	case pack.IsDir(dir):
		return fmt.Errorf("%s already holds a pack (use --force to replace it)", dir)
	}
	return fmt.Errorf("%s exists and is not empty", dir)
}

func reportSkipped(w io.Writer, skipped []astra.Skip) {
	for i, s := range skipped {
		if i == maxSkipLines {
			fmt.Fprintf(w, "skip: ... and %d more (--skipped FILE lists all)\n", len(skipped)-i)
			return
		}
		fmt.Fprintf(w, "skip: %s\n", s)
	}
}

func writeSkipped(name string, skipped []astra.Skip) error {
	file, err := os.Create(name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(file)
	enc.SetEscapeHTML(false)
	for _, s := range skipped {
		if err := enc.Encode(struct {
			Line   int    `json:"line"`
			UUID   string `json:"uuid,omitempty"`
			Reason string `json:"reason"`
		}{s.Line, s.UUID, s.Reason}); err != nil {
			file.Close()
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return file.Close()
}
