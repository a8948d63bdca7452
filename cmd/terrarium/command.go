package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Exit codes, in one place.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// Command is one terrarium command (or a group of subcommands).
type Command struct {
	// Name is the command's name, for example "run" or "test" (under "env").
	Name string
	// Usage is the usage line after the program name, for example
	// "run --env PATH [flags]".
	Usage string
	// Short is a one-line description for the command list.
	Short string
	// Long is the help text shown by "terrarium help CMD".
	Long string
	// Flags defines the command's flags on fs; nil when it has none.
	Flags func(fs *pflag.FlagSet)
	// Run runs the command with the arguments left after flags.
	Run func(ctx context.Context, inv *Invocation) error
	// Sub lists subcommands (for groups such as "env" and "pack").
	Sub []*Command
}

// Invocation is what a command's Run receives.
type Invocation struct {
	Args   []string
	Flags  *pflag.FlagSet
	Stdout io.Writer
	Stderr io.Writer
}

// usageError is returned by commands for bad invocations; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef reports a usage error.
func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// silentError carries an exit status for failures already reported (a failed
// conformance check prints its own report).
type silentError struct{}

func (silentError) Error() string { return "failed" }

// Main runs the program with args and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(args) == 0 {
		printCommands(stderr, "", commands)
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return help(args[1:], stdout, stderr)
	}
	cmd, rest, path := find(commands, args)
	if cmd == nil {
		fmt.Fprintf(stderr, "terrarium: unknown command %q\nRun 'terrarium help' for usage.\n", strings.Join(path, " "))
		return exitUsage
	}
	if cmd.Run == nil {
		printCommands(stderr, strings.Join(path, " ")+" ", cmd.Sub)
		return exitUsage
	}
	fs := pflag.NewFlagSet(strings.Join(path, " "), pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if cmd.Flags != nil {
		cmd.Flags(fs)
	}
	helpFlag := fs.BoolP("help", "h", false, "show help")
	if err := fs.Parse(rest); err != nil {
		fmt.Fprintf(stderr, "terrarium %s: %s\nusage: terrarium %s\n", strings.Join(path, " "), err, cmd.Usage)
		return exitUsage
	}
	if *helpFlag {
		printHelp(stdout, cmd)
		return exitOK
	}
	err := cmd.Run(ctx, &Invocation{Args: fs.Args(), Flags: fs, Stdout: stdout, Stderr: stderr})
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "terrarium %s: %s\nusage: terrarium %s\n", strings.Join(path, " "), ue.msg, cmd.Usage)
		return exitUsage
	case errors.Is(err, silentError{}):
		return exitFailure
	default:
		fmt.Fprintf(stderr, "terrarium %s: %s\n", strings.Join(path, " "), err)
		return exitFailure
	}
}

// find walks args down the command tree.
func find(cmds []*Command, args []string) (*Command, []string, []string) {
	var path []string
	var cur *Command
	for len(args) > 0 {
		var next *Command
		for _, c := range cmds {
			if c.Name == args[0] {
				next = c
			}
		}
		if next == nil {
			if cur == nil {
				return nil, nil, append(path, args[0])
			}
			if cur.Run == nil {
				return nil, nil, append(path, args[0])
			}
			break
		}
		cur, path, args, cmds = next, append(path, next.Name), args[1:], next.Sub
		if cur.Run != nil {
			break
		}
	}
	return cur, args, path
}

func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stdout, "Terrarium runs verifiable RL environments for tool-using agents in a deterministic WebAssembly sandbox.")
		fmt.Fprintln(stdout)
		printCommands(stdout, "", commands)
		return exitOK
	}
	cmd, rest, path := find(commands, args)
	if cmd == nil || len(rest) > 0 {
		fmt.Fprintf(stderr, "terrarium help: unknown command %q\n", strings.Join(args, " "))
		return exitUsage
	}
	if cmd.Run == nil {
		printCommands(stdout, strings.Join(path, " ")+" ", cmd.Sub)
		return exitOK
	}
	printHelp(stdout, cmd)
	return exitOK
}

func printCommands(w io.Writer, prefix string, cmds []*Command) {
	fmt.Fprintf(w, "Usage: terrarium %s<command> [arguments]\n\nCommands:\n", prefix)
	sorted := append([]*Command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Short)
	}
	fmt.Fprintf(w, "\nRun 'terrarium help %s<command>' for details.\n", prefix)
}

func printHelp(w io.Writer, cmd *Command) {
	fmt.Fprintf(w, "usage: terrarium %s\n\n%s\n", cmd.Usage, strings.TrimSpace(cmd.Long))
	if cmd.Flags != nil {
		fs := pflag.NewFlagSet(cmd.Name, pflag.ContinueOnError)
		fs.SortFlags = false
		cmd.Flags(fs)
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
}
