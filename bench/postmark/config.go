package postmark

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Location is one working directory of a run and its weight: with more than
// one location, each new file picks one at random in proportion to weight.
type Location struct {
	Path   string
	Weight int
}

// Config is a PostMark configuration, as the `set` commands build it.
type Config struct {
	// Size is the range of initial file sizes in bytes, low and high
	// (`set size L H`); appends grow a file up to Size[1].
	Size [2]int64
	// Number is the base number of files (`set number`).
	Number int
	// Seed seeds the random number generator (`set seed`).
	Seed int
	// Transactions is the number of transactions (`set transactions`).
	Transactions int
	// Subdirectories spreads files over s0..sN-1 in each location when
	// greater than 1 (`set subdirectories`; 1 behaves like 0, as in PostMark).
	Subdirectories int
	// Read and Write are the I/O block sizes (`set read`, `set write`).
	Read, Write int
	// Buffering selects C-stdio-style buffered I/O (`set buffering true`,
	// PostMark's default); false means one read/write syscall per block.
	Buffering bool
	// BiasRead is the chance out of 10 of a read rather than an append
	// in a transaction, -1 to do neither (`set bias read`).
	BiasRead int
	// BiasCreate is the chance out of 10 of a create rather than a delete,
	// -1 to do neither (`set bias create`).
	BiasCreate int
	// Location is the working directory; "" means file names relative to
	// the current directory, as PostMark does with no `set location`.
	// Run uses it only when Locations is empty.
	Location string
	// Locations is the full weighted list that `set location` builds
	// (`set location DIR [W]`, `set location +DIR [W]`, `set location -DIR`).
	// When non-empty it wins over Location.
	Locations []Location
	// Report is "verbose" or "terse".
	Report string
}

// DefaultConfig returns PostMark 1.51's defaults.
func DefaultConfig() Config {
	return Config{
		Size:         [2]int64{500, 10000},
		Number:       500,
		Seed:         42,
		Transactions: 500,
		Read:         512,
		Write:        512,
		Buffering:    true,
		BiasRead:     5,
		BiasCreate:   5,
		Report:       "verbose",
	}
}

// locations returns the effective list of working directories.
func (c Config) locations() []Location {
	if len(c.Locations) > 0 {
		return c.Locations
	}
	if c.Location != "" {
		return []Location{{Path: c.Location, Weight: 1}}
	}
	return nil
}

// Validate reports whether Run can use the configuration.
func (c Config) Validate() error {
	switch {
	case c.Size[0] < 1 || c.Size[1] < c.Size[0]:
		return fmt.Errorf("postmark: bad size range %d..%d (need 1 <= low <= high)", c.Size[0], c.Size[1])
	case c.Size[1] > 1<<30:
		return fmt.Errorf("postmark: size high bound %d too large (max %d)", c.Size[1], 1<<30)
	case c.Number < 1:
		return fmt.Errorf("postmark: number of files %d must be positive", c.Number)
	case c.Transactions < 0:
		return fmt.Errorf("postmark: negative number of transactions %d", c.Transactions)
	case c.Subdirectories < 0:
		return fmt.Errorf("postmark: negative number of subdirectories %d", c.Subdirectories)
	case c.Read < 1 || c.Write < 1:
		return fmt.Errorf("postmark: block sizes read=%d write=%d must be positive", c.Read, c.Write)
	case c.BiasRead < -1 || c.BiasRead > 10 || c.BiasCreate < -1 || c.BiasCreate > 10:
		return fmt.Errorf("postmark: biases read=%d create=%d must be in -1..10", c.BiasRead, c.BiasCreate)
	case c.Report != "verbose" && c.Report != "terse" && c.Report != "":
		return fmt.Errorf("postmark: report format %q is neither verbose nor terse", c.Report)
	}
	for _, l := range c.locations() {
		if l.Weight < 1 {
			return fmt.Errorf("postmark: location %q has weight %d, need >= 1", l.Path, l.Weight)
		}
		if l.Path == "" {
			return errors.New("postmark: empty location")
		}
	}
	return nil
}

// atoi converts the way C's atoi does: leading blanks, an optional sign,
// then digits up to the first non-digit; ok is false when there were no
// digits. Values that overflow saturate (C leaves this undefined).
func atoi(s string) (v int, ok bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	u, err := strconv.ParseInt(s[:n], 10, 32)
	if err != nil {
		u = 1<<31 - 1
	}
	if neg {
		u = -u
	}
	return int(u), true
}

// setKeys are the settings `set` knows.
var setKeys = []string{
	"size", "number", "seed", "transactions", "location", "subdirectories",
	"read", "write", "buffering", "bias read", "bias create", "report",
}

// errUnknown marks a line that is no PostMark command (PostMark's "Eh?").
var errUnknown = errors.New("unknown command")

// lineKind classifies one configuration line.
type lineKind int

const (
	lineNone lineKind = iota // blank, comment, or a `set`
	lineRun
	lineShow
	lineHelp
	lineLoad
	lineQuit
	lineShell
)

// applyLine interprets one line the way PostMark's command parser does,
// changing c for `set` commands. For other commands it returns the kind
// and the rest of the line (the optional output file of run/show, the
// file of load). An error is what PostMark would print as "Error: ...",
// or an unknown command (PostMark's "Eh?").
func applyLine(c *Config, line string) (lineKind, string, error) {
	line = strings.TrimRight(line, " \t\r\n")
	trimmed := strings.TrimLeft(line, " \t")
	if trimmed == "" || trimmed[0] == '#' {
		return lineNone, "", nil
	}
	if trimmed[0] == '!' {
		return lineShell, strings.TrimSpace(trimmed[1:]), nil
	}
	word, rest, _ := strings.Cut(trimmed, " ")
	rest = strings.TrimLeft(rest, " \t")
	switch word {
	case "run":
		return lineRun, rest, nil
	case "show":
		return lineShow, rest, nil
	case "help", "?":
		return lineHelp, rest, nil
	case "load":
		if rest == "" {
			return lineLoad, "", errors.New("no configuration file specified")
		}
		return lineLoad, rest, nil
	case "quit", "exit":
		return lineQuit, "", nil
	case "set":
		return lineNone, "", applySet(c, rest)
	}
	return lineNone, "", fmt.Errorf("%w %q", errUnknown, word)
}

func applySet(c *Config, s string) error {
	fields := strings.Fields(s)
	key := ""
	if len(fields) > 0 {
		key = fields[0]
		if key == "bias" && len(fields) > 1 {
			key += " " + fields[1]
		}
	}
	known := false
	for _, k := range setKeys {
		if k == key {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("%w %q", errUnknown, strings.TrimSpace("set "+key))
	}
	// param is the rest of the line after the key, spaces preserved.
	param := strings.TrimLeft(s, " \t")
	for _, w := range strings.Fields(key) {
		param = strings.TrimLeft(strings.TrimPrefix(param, w), " \t")
	}
	positive := func(dst *int, what string) error {
		v, ok := atoi(param)
		if !ok || v <= 0 {
			return fmt.Errorf("%s: %q", what, param)
		}
		*dst = v
		return nil
	}
	bias := func(dst *int) error {
		v, ok := atoi(param)
		if !ok || v < -1 || v > 10 {
			return fmt.Errorf("no bias specified (0-10 for greater chance,-1 to disable): %q", param)
		}
		*dst = v
		return nil
	}
	switch key {
	case "size":
		// PostMark: low must be > 0; a missing, non-positive or smaller
		// high bound silently means a fixed size.
		lo, ok := atoi(param)
		if !ok || lo <= 0 {
			return fmt.Errorf("no file size low or high bounds specified: %q", param)
		}
		hi := lo
		if _, after, found := strings.Cut(param, " "); found {
			if h, ok := atoi(after); ok && h > 0 && h >= lo {
				hi = h
			}
		}
		c.Size = [2]int64{int64(lo), int64(hi)}
	case "number":
		return positive(&c.Number, "invalid number of files")
	case "seed":
		return positive(&c.Seed, "invalid seed for random numbers")
	case "transactions":
		return positive(&c.Transactions, "no transactions specified")
	case "subdirectories":
		return positive(&c.Subdirectories, "invalid number of subdirectories")
	case "read":
		return positive(&c.Read, "invalid read block size")
	case "write":
		return positive(&c.Write, "invalid write block size")
	case "buffering":
		switch param {
		case "true":
			c.Buffering = true
		case "false":
			c.Buffering = false
		default:
			return fmt.Errorf("no buffering mode (true/false) specified: %q", param)
		}
	case "bias read":
		return bias(&c.BiasRead)
	case "bias create":
		return bias(&c.BiasCreate)
	case "report":
		if param != "verbose" && param != "terse" {
			return fmt.Errorf("either 'verbose' or 'terse' required: %q", param)
		}
		c.Report = param
	case "location":
		return setLocation(c, param)
	}
	return nil
}

// setLocation follows PostMark: "DIR [W]" replaces the list, "+DIR [W]"
// appends, "-DIR" removes. The weight is the last space-separated word
// when there is a space; a non-positive weight is an error and means 1.
func setLocation(c *Config, param string) error {
	if param == "" {
		return errors.New("no directory name specified")
	}
	op := byte(0)
	if param[0] == '+' || param[0] == '-' {
		op, param = param[0], param[1:]
	}
	if op == '-' {
		for i, l := range c.Locations {
			if l.Path == param {
				c.Locations = append(c.Locations[:i:i], c.Locations[i+1:]...)
				c.syncLocation()
				return nil
			}
		}
		return fmt.Errorf("cannot find location '%s'", param)
	}
	var err error
	w := 1
	if i := strings.LastIndexByte(param, ' '); i >= 0 {
		if v, ok := atoi(param[i+1:]); ok && v > 0 {
			w = v
		} else {
			err = fmt.Errorf("ignoring invalid weight '%s'", param[i+1:])
		}
		param = param[:i]
	}
	if op == 0 {
		c.Locations = nil
	}
	c.Locations = append(c.Locations, Location{Path: param, Weight: w})
	c.syncLocation()
	return err
}

func (c *Config) syncLocation() {
	c.Location = ""
	if len(c.Locations) > 0 {
		c.Location = c.Locations[0].Path
	}
}

const maxLoadDepth = 16

// ParseConfig reads PostMark commands: `set X ...` lines change the
// configuration, `run [FILE]`, `show [FILE]` and `help` are returned in
// order as written, `quit` (or `exit`) ends the input (it is returned too,
// and later lines are not read, as in PostMark), `load FILE` reads another
// file from the host file system in place. Blank lines and lines starting
// with '#' are skipped. The configuration returned is the one in force at
// the end; Main interprets line by line, so settings between two runs
// apply to the later run only.
//
// Errors name the line. Values are read the way PostMark reads them (C
// atoi, `set size 1000 500` meaning a fixed size of 1000, and so on), but
// where PostMark prints an error and goes on, ParseConfig stops.
func ParseConfig(r io.Reader) (Config, []string, error) {
	c := DefaultConfig()
	var cmds []string
	_, err := parseInto(&c, &cmds, r, "", 0)
	return c, cmds, err
}

func parseInto(c *Config, cmds *[]string, r io.Reader, name string, depth int) (quit bool, err error) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		kind, arg, err := applyLine(c, sc.Text())
		if err != nil {
			return false, fmt.Errorf("postmark: %sline %d: %w", where(name), n, err)
		}
		switch kind {
		case lineRun, lineShow, lineHelp:
			cmd := map[lineKind]string{lineRun: "run", lineShow: "show", lineHelp: "help"}[kind]
			if arg != "" && kind != lineHelp {
				cmd += " " + arg
			}
			*cmds = append(*cmds, cmd)
		case lineQuit:
			*cmds = append(*cmds, "quit")
			return true, nil
		case lineShell:
			return false, fmt.Errorf("postmark: %sline %d: shell escapes are not supported", where(name), n)
		case lineLoad:
			if depth >= maxLoadDepth {
				return false, fmt.Errorf("postmark: %sline %d: load nested too deeply", where(name), n)
			}
			f, err := os.Open(arg)
			if err != nil {
				return false, fmt.Errorf("postmark: %sline %d: %w", where(name), n, err)
			}
			q, err := parseInto(c, cmds, f, arg, depth+1)
			f.Close()
			if err != nil || q {
				return q, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("postmark: %sline %d: %w", where(name), n+1, err)
	}
	return false, nil
}

func where(name string) string {
	if name == "" {
		return ""
	}
	return name + ": "
}
