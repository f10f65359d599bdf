package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// usageText describes one command for its --help: the command line after "retailbridge" and
// what it does. Flags are listed from the flag set.
type usageText struct {
	line, about string
	// dashPositionals lets positional arguments begin with '-' (a key id is a base64url
	// thumbprint and begins with '-' one time in 64); an unknown "-x" is then an argument, not
	// a flag error.
	dashPositionals bool
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// parseFlags parses args with fs the way the README documents commands: flags may come before,
// between or after positional arguments ("dlq replay 7 --operator ana --dry-run"), and "--"
// ends the flags. -h/--help prints the command's usage to stdout and returns flag.ErrHelp,
// which run turns into exit status 0. It returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, u usageText) ([]string, error) {
	fs.SetOutput(io.Discard) // errors are returned, not printed with the whole usage
	fs.Usage = func() {}
	flags, positional := splitFlags(fs, args, u.dashPositionals)
	err := fs.Parse(append(append(flags, "--"), positional...))
	if errors.Is(err, flag.ErrHelp) {
		printUsage(fs, stdout, u)
		return nil, flag.ErrHelp
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v (see retailbridge %s --help)", errUsage, err, strings.Fields(u.line)[0])
	}
	return fs.Args(), nil
}

// splitFlags moves the flags fs knows (with their values) ahead of the positional arguments,
// so the standard flag package, which stops at the first positional, sees all of them.
func splitFlags(fs *flag.FlagSet, args []string, dashPositionals bool) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f := fs.Lookup(name)
		if f == nil && !isHelp(a) && dashPositionals {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		if f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func printUsage(fs *flag.FlagSet, w io.Writer, u usageText) {
	fmt.Fprintf(w, "Usage: retailbridge %s\n\n%s\n", u.line, u.about)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nFlags (before or after the arguments):")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// subcommand is one verb of a command group (dlq, clients, keys).
type subcommand struct {
	name, line string
}

// groupHelp answers "GROUP", "GROUP --help" and "GROUP help": the verbs, to stdout. It reports
// whether args asked for help (handled) and the usage error for an empty command line.
func groupHelp(group string, verbs []subcommand, args []string, stdout io.Writer) (bool, error) {
	if len(args) > 0 && !isHelp(args[0]) {
		return false, nil
	}
	fmt.Fprintf(stdout, "Usage:\n")
	names := make([]string, 0, len(verbs))
	for _, v := range verbs {
		fmt.Fprintf(stdout, "  retailbridge %s %s\n", group, v.line)
		names = append(names, v.name)
	}
	fmt.Fprintf(stdout, "\nEvery verb takes --help.\n")
	if len(args) == 0 {
		return true, fmt.Errorf("%w: %s %s", errUsage, group, strings.Join(names, "|"))
	}
	return true, flag.ErrHelp
}
