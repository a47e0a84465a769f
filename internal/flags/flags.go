// Package flags parses the command lines of fsshim's commands: GNU-style
// long flags (--name value, --name=value, --bool, --bool=false), "--" to
// end them, -h and --help for the usage text, and a help listing with one
// aligned line per flag.
//
// It exists so that the supervisor links no network code: the usual
// third-party flag packages import net (for IP-address flags), and with it
// cgo, which would make fsshim a dynamic binary. Only what fsshim's
// commands use is here: string, bool, int, int64 and repeatable string
// flags, no single-letter shorthands.
package flags

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ErrHelp is what Parse returns after -h or --help, once the usage text
// has been printed.
var ErrHelp = errors.New("flags: help requested")

// FlagSet is a set of flags and the arguments left after parsing them.
// Parse returns its errors without printing them.
type FlagSet struct {
	// Usage prints the help text; by default "Usage of NAME:" and
	// PrintDefaults.
	Usage func()

	name         string
	out          io.Writer
	defs         map[string]*flag
	args         []string
	interspersed bool
}

// flag is one defined flag.
type flag struct {
	name, usage string
	value       value
	zero        bool   // the default is its type's zero value
	def         string // the default as printed
}

// value is a flag's variable.
type value interface {
	set(string) error
	typeName() string // as the help listing shows it when usage names none
}

// NewFlagSet returns an empty set named name (used in the default usage
// text). Flags and arguments may be interspersed until SetInterspersed
// says otherwise.
func NewFlagSet(name string) *FlagSet {
	return &FlagSet{name: name, defs: map[string]*flag{}, interspersed: true}
}

// SetOutput sets where the usage text goes (default os.Stderr).
func (f *FlagSet) SetOutput(w io.Writer) { f.out = w }

func (f *FlagSet) output() io.Writer {
	if f.out == nil {
		return os.Stderr
	}
	return f.out
}

// SetInterspersed says whether flags may follow arguments. With false,
// the first argument that is not a flag ends the flags: it and everything
// after it are arguments (a program's command line, say).
func (f *FlagSet) SetInterspersed(b bool) { f.interspersed = b }

// Args are the arguments left after the flags.
func (f *FlagSet) Args() []string { return f.args }

// NArg is len(Args()).
func (f *FlagSet) NArg() int { return len(f.args) }

// Arg is the i-th argument left, or "" if there is none.
func (f *FlagSet) Arg(i int) string {
	if i < 0 || i >= len(f.args) {
		return ""
	}
	return f.args[i]
}

func (f *FlagSet) define(name, usage string, v value, zero bool, def string) {
	if _, dup := f.defs[name]; dup {
		panic("flags: --" + name + " defined twice")
	}
	f.defs[name] = &flag{name: name, usage: usage, value: v, zero: zero, def: def}
}

// Parse reads the flags at the front of args (all of args' flags, when
// interspersed) and keeps the rest as Args.
func (f *FlagSet) Parse(args []string) error {
	f.args = make([]string, 0, len(args))
	for len(args) > 0 {
		s := args[0]
		args = args[1:]
		switch {
		case len(s) < 2 || s[0] != '-':
			f.args = append(f.args, s)
			if !f.interspersed {
				f.args = append(f.args, args...)
				return nil
			}
		case s == "--":
			f.args = append(f.args, args...)
			return nil
		case s[1] == '-':
			var err error
			if args, err = f.parseLong(s, args); err != nil {
				return err
			}
		default:
			// No flag has a single-letter form; -h asks for help.
			if s[1] == 'h' {
				f.usage()
				return ErrHelp
			}
			return fmt.Errorf("unknown shorthand flag: %q in %s", rune(s[1]), s)
		}
	}
	return nil
}

// parseLong reads the flag s ("--name" or "--name=value"), taking its
// value from the front of args when it needs one, and returns the
// arguments after it.
func (f *FlagSet) parseLong(s string, args []string) ([]string, error) {
	name, val, hasVal := strings.Cut(s[2:], "=")
	if name == "" || name[0] == '-' {
		return args, fmt.Errorf("bad flag syntax: %s", s)
	}
	fl, ok := f.defs[name]
	switch {
	case !ok && name == "help":
		f.usage()
		return args, ErrHelp
	case !ok:
		return args, fmt.Errorf("unknown flag: --%s", name)
	case hasVal:
	case isBool(fl.value):
		val = "true"
	case len(args) > 0:
		val, args = args[0], args[1:]
	default:
		return args, fmt.Errorf("flag needs an argument: --%s", name)
	}
	if err := fl.value.set(val); err != nil {
		return args, fmt.Errorf("invalid argument %q for %q flag: %w", val, "--"+name, err)
	}
	return args, nil
}

func (f *FlagSet) usage() {
	if f.Usage != nil {
		f.Usage()
		return
	}
	fmt.Fprintf(f.output(), "Usage of %s:\n", f.name)
	f.PrintDefaults()
}

// PrintDefaults writes one line per flag, sorted by name: the flag with
// the name of its value (the first `quoted` word of its usage, else its
// type), then, aligned, its usage and any default other than the zero
// value.
func (f *FlagSet) PrintDefaults() {
	names := make([]string, 0, len(f.defs))
	for n := range f.defs {
		names = append(names, n)
	}
	sort.Strings(names)
	heads := make([]string, len(names))
	texts := make([]string, len(names))
	width := 0
	for i, n := range names {
		fl := f.defs[n]
		varName, usage := unquote(fl)
		heads[i] = "      --" + n
		switch {
		case isBool(fl.value):
			heads[i] += "[=true|false]"
		case varName != "":
			heads[i] += " " + varName
		}
		width = max(width, len(heads[i]))
		texts[i] = usage
		if !fl.zero {
			if _, isString := fl.value.(*stringValue); isString {
				texts[i] += fmt.Sprintf(" (default %q)", fl.def)
			} else {
				texts[i] += fmt.Sprintf(" (default %s)", fl.def)
			}
		}
	}
	var b strings.Builder
	for i := range names {
		pad := strings.Repeat(" ", width-len(heads[i])+3)
		b.WriteString(heads[i] + pad + strings.ReplaceAll(texts[i], "\n", "\n"+strings.Repeat(" ", width+3)) + "\n")
	}
	fmt.Fprint(f.output(), b.String())
}

// unquote returns the name of the flag's value, the first `quoted` word
// of its usage (and the usage without the quotes) or else its type name,
// none for a bool.
func unquote(fl *flag) (string, string) {
	if i := strings.IndexByte(fl.usage, '`'); i >= 0 {
		if j := strings.IndexByte(fl.usage[i+1:], '`'); j >= 0 {
			name := fl.usage[i+1 : i+1+j]
			return name, fl.usage[:i] + name + fl.usage[i+2+j:]
		}
	}
	return fl.value.typeName(), fl.usage
}

func isBool(v value) bool {
	_, ok := v.(*boolValue)
	return ok
}

type stringValue string

func (s *stringValue) set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) typeName() string   { return "string" }

type boolValue bool

func (b *boolValue) set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("must be true or false")
	}
	*b = boolValue(x)
	return nil
}
func (b *boolValue) typeName() string { return "" }

type intValue int

func (n *intValue) set(v string) error {
	x, err := strconv.ParseInt(v, 0, strconv.IntSize)
	if err != nil {
		return errors.New("must be an integer")
	}
	*n = intValue(x)
	return nil
}
func (n *intValue) typeName() string { return "int" }

type int64Value int64

func (n *int64Value) set(v string) error {
	x, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		return errors.New("must be an integer")
	}
	*n = int64Value(x)
	return nil
}
func (n *int64Value) typeName() string { return "int" }

// stringArrayValue collects every use of a repeatable flag, values taken
// whole (no splitting at commas); the first use replaces the default.
type stringArrayValue struct {
	p    *[]string
	used bool
}

func (a *stringArrayValue) set(v string) error {
	if !a.used {
		*a.p, a.used = nil, true
	}
	*a.p = append(*a.p, v)
	return nil
}
func (a *stringArrayValue) typeName() string { return "stringArray" }

// StringVar defines a string flag stored in p.
func (f *FlagSet) StringVar(p *string, name, def, usage string) {
	*p = def
	f.define(name, usage, (*stringValue)(p), def == "", def)
}

// String defines a string flag.
func (f *FlagSet) String(name, def, usage string) *string {
	p := new(string)
	f.StringVar(p, name, def, usage)
	return p
}

// BoolVar defines a bool flag stored in p: --name sets it, --name=false
// clears it; it never takes the next argument.
func (f *FlagSet) BoolVar(p *bool, name string, def bool, usage string) {
	*p = def
	f.define(name, usage, (*boolValue)(p), !def, strconv.FormatBool(def))
}

// Bool defines a bool flag.
func (f *FlagSet) Bool(name string, def bool, usage string) *bool {
	p := new(bool)
	f.BoolVar(p, name, def, usage)
	return p
}

// IntVar defines an int flag stored in p (decimal, or 0x, 0o, 0b).
func (f *FlagSet) IntVar(p *int, name string, def int, usage string) {
	*p = def
	f.define(name, usage, (*intValue)(p), def == 0, strconv.Itoa(def))
}

// Int defines an int flag.
func (f *FlagSet) Int(name string, def int, usage string) *int {
	p := new(int)
	f.IntVar(p, name, def, usage)
	return p
}

// Int64Var defines an int64 flag stored in p.
func (f *FlagSet) Int64Var(p *int64, name string, def int64, usage string) {
	*p = def
	f.define(name, usage, (*int64Value)(p), def == 0, strconv.FormatInt(def, 10))
}

// StringArrayVar defines a repeatable string flag whose values are
// collected in p.
func (f *FlagSet) StringArrayVar(p *[]string, name string, def []string, usage string) {
	*p = def
	f.define(name, usage, &stringArrayValue{p: p}, len(def) == 0, "["+strings.Join(def, ",")+"]")
}
