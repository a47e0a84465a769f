package postmark

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Version is printed by Main's banner.
const Version = "PostMark v1.51 (fsshim Go reimplementation)"

var helpText = [][2]string{
	{"set size", "Sets low and high bounds of file sizes"},
	{"set number", "Sets number of simultaneous files"},
	{"set seed", "Sets seed for random number generator"},
	{"set transactions", "Sets number of transactions"},
	{"set location", "Sets location of working files (DIR [W], +DIR [W], -DIR)"},
	{"set subdirectories", "Sets number of subdirectories"},
	{"set read", "Sets read block size"},
	{"set write", "Sets write block size"},
	{"set buffering", "Sets usage of buffered I/O (true/false)"},
	{"set bias read", "Sets the chance of choosing read over append (0-10, -1 off)"},
	{"set bias create", "Sets the chance of choosing create over delete (0-10, -1 off)"},
	{"set report", "Chooses verbose or terse report format"},
	{"run", "Runs one iteration of benchmark [report appended to FILE]"},
	{"load", "Reads configuration file"},
	{"show", "Displays current configuration [appended to FILE]"},
	{"help", "Prints out available commands"},
	{"quit", "Exits program"},
}

// scaleInt formats a size the way PostMark's scale does.
func scaleInt(i int64) string {
	switch {
	case i/megabyte != 0:
		return fmt.Sprintf("%.2f megabytes", float64(i)/megabyte)
	case i/kilobyte != 0:
		return fmt.Sprintf("%.2f kilobytes", float64(i)/kilobyte)
	}
	return fmt.Sprintf("%d bytes", i)
}

// Show writes the configuration as PostMark's `show` command does.
func (c Config) Show(w io.Writer) {
	fmt.Fprintf(w, "Current configuration is:\n")
	fmt.Fprintf(w, "The base number of files is %d\n", c.Number)
	fmt.Fprintf(w, "Transactions: %d\n", c.Transactions)
	if c.Size[0] != c.Size[1] {
		fmt.Fprintf(w, "Files range between %s and %s in size\n", scaleInt(c.Size[0]), scaleInt(c.Size[1]))
	} else {
		fmt.Fprintf(w, "Files are %s in size\n", scaleInt(c.Size[0]))
	}
	locs := c.locations()
	switch len(locs) {
	case 0:
		wd, _ := os.Getwd()
		fmt.Fprintf(w, "Working directory: %s\n", wd)
	case 1:
		fmt.Fprintf(w, "Working directory: \n")
	default:
		fmt.Fprintf(w, "Working directories: \n")
	}
	for _, l := range locs {
		fmt.Fprintf(w, "\t%s (weight=%d)\n", l.Path, l.Weight)
	}
	if c.Subdirectories > 0 {
		s := "ies"
		if c.Subdirectories == 1 {
			s = "y"
		}
		fmt.Fprintf(w, "%d subdirector%s will be used\n", c.Subdirectories, s)
	}
	fmt.Fprintf(w, "Block sizes are: read=%s, write=%s\n", scaleInt(int64(c.Read)), scaleInt(int64(c.Write)))
	fmt.Fprintf(w, "Biases are: read/append=%d, create/delete=%d\n", c.BiasRead, c.BiasCreate)
	if c.Buffering {
		fmt.Fprintf(w, "Using Unix buffered file I/O\n")
	} else {
		fmt.Fprintf(w, "Not using Unix buffered file I/O\n")
	}
	fmt.Fprintf(w, "Random number generator seed is %d\n", c.Seed)
	rep := c.Report
	if rep == "" {
		rep = "verbose"
	}
	fmt.Fprintf(w, "Report format is %s.\n", rep)
}

// session is Main's command interpreter.
type session struct {
	fs     FS
	cfg    Config
	out    io.Writer
	failed bool
}

// Main is the PostMark command line: it reads commands from the file
// args[0] (or ./.pmrc when there are no arguments, if it exists), then
// interactively from stdin after a "pm>" prompt, until `quit` or end of
// input. Settings apply to the runs that follow them. Messages that
// PostMark prints to stderr go to stdout here. It returns 0, or 1 if a
// command failed, 2 for bad usage.
func Main(fs FS, args []string, stdin io.Reader, stdout io.Writer) int {
	s := &session{fs: fs, cfg: DefaultConfig(), out: stdout}
	fmt.Fprintf(stdout, "%s\n", Version)
	switch len(args) {
	case 0:
		if f, err := os.Open(".pmrc"); err == nil {
			quit := s.file(f, ".pmrc", 0)
			f.Close()
			if quit {
				return s.code()
			}
		}
	case 1:
		if s.load(args[0], 0) {
			return s.code()
		}
	default:
		fmt.Fprintf(stdout, "usage: postmark [CONFIG-FILE]\n")
		return 2
	}
	in := bufio.NewScanner(stdin)
	for {
		fmt.Fprintf(stdout, "pm>")
		if !in.Scan() {
			break
		}
		if s.line(in.Text(), "", 0, 0) {
			break
		}
	}
	return s.code()
}

func (s *session) code() int {
	if s.failed {
		return 1
	}
	return 0
}

func (s *session) errorf(format string, a ...any) {
	s.failed = true
	fmt.Fprintf(s.out, "Error: "+format+"\n", a...)
}

// load reads a configuration file; it reports whether it said quit.
func (s *session) load(name string, depth int) bool {
	if depth >= maxLoadDepth {
		s.errorf("load nested too deeply at '%s'", name)
		return false
	}
	f, err := os.Open(name)
	if err != nil {
		s.errorf("cannot read configuration file '%s'", name)
		return false
	}
	defer f.Close()
	return s.file(f, name, depth)
}

func (s *session) file(r io.Reader, name string, depth int) bool {
	fmt.Fprintf(s.out, "Reading configuration from file '%s'\n", name)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		if s.line(sc.Text(), name, n, depth) {
			return true
		}
	}
	if err := sc.Err(); err != nil {
		s.errorf("%s: %v", name, err)
	}
	return false
}

// line executes one command line; it reports whether it was quit.
func (s *session) line(text, file string, n, depth int) bool {
	kind, arg, err := applyLine(&s.cfg, text)
	if err != nil {
		if errors.Is(err, errUnknown) {
			fmt.Fprintf(s.out, "Eh?\n")
			return false
		}
		if file != "" {
			s.errorf("%s line %d: %v", file, n, err)
		} else {
			s.errorf("%v", err)
		}
		return false
	}
	switch kind {
	case lineQuit:
		return true
	case lineShell:
		s.errorf("shell escapes are not supported")
	case lineLoad:
		return s.load(arg, depth+1)
	case lineHelp:
		s.help(arg)
	case lineShow:
		s.withOutput(arg, s.cfg.Show)
	case lineRun:
		s.run(arg)
	}
	return false
}

func (s *session) help(prefix string) {
	n := 0
	if prefix != "" {
		for _, h := range helpText {
			if strings.HasPrefix(h[0], prefix) {
				fmt.Fprintf(s.out, "%s - %s\n", h[0], h[1])
				n++
			}
		}
	}
	if n == 0 {
		for _, h := range helpText {
			fmt.Fprintf(s.out, "%s - %s\n", h[0], h[1])
		}
	}
}

// withOutput calls f on the file named (appending), or on stdout.
func (s *session) withOutput(name string, f func(io.Writer)) {
	if name == "" {
		f(s.out)
		return
	}
	fp, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		s.errorf("Cannot direct output to file '%s'", name)
		f(s.out)
		return
	}
	f(fp)
	if err := fp.Close(); err != nil {
		s.errorf("%v", err)
	}
}

func (s *session) run(reportFile string) {
	cfg := s.cfg
	res, err := RunProgress(s.fs, cfg, s.out)
	switch {
	case errors.Is(err, ErrOutOfFiles):
		// PostMark prints the out-of-files note and no report.
		s.failed = true
	case err != nil:
		fmt.Fprintln(s.out)
		s.errorf("%v", err)
	default:
		s.withOutput(reportFile, func(w io.Writer) { res.Report(w, cfg) })
	}
}
