package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"fsshim/bench/fsys"
	"fsshim/bench/postmark"
	flag "fsshim/internal/flags"
)

const postmarkUsage = `fsshim postmark runs PostMark 1.51 (fsshim's Go reimplementation,
bench/postmark) with raw system calls on the host file system — so that
'fsshim --mount DIR -- fsshim postmark CFG' runs it supervised — or, with
--linked, with its file calls answered in-process by fsshim's emul and ramfs
(every location the configuration names, or the current directory without
one, is an empty ramfs). The report is the same either way.

Usage:
  fsshim postmark [--linked] [CONFIG-FILE]

Commands are read from CONFIG-FILE (or ./.pmrc), then from stdin until quit.

Options:
`

func postmarkMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fsshim postmark")
	fs.SetOutput(stderr)
	linked := fs.Bool("linked", false, "serve the file calls from an in-process ramfs (the linked build)")
	fs.Usage = func() {
		fmt.Fprint(stderr, postmarkUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	var pfs postmark.FS = postmark.Raw{}
	if *linked {
		cfgFile := ".pmrc"
		if fs.NArg() > 0 {
			cfgFile = fs.Arg(0)
		}
		paths, err := configLocations(cfgFile, 0)
		if err != nil && !(fs.NArg() == 0 && os.IsNotExist(err)) {
			fmt.Fprintf(stderr, "fsshim postmark: %v\n", err)
			return 2
		}
		if len(paths) == 0 {
			paths = []string{"."}
		}
		l, err := fsys.NewLinked(paths, 0)
		if err != nil {
			fmt.Fprintf(stderr, "fsshim postmark: %v\n", err)
			return 2
		}
		pfs = l
	}
	return postmark.Main(pfs, fs.Args(), stdin, stdout)
}

// configLocations returns every directory a PostMark configuration file
// names with `set location` (in any form, and in files it loads), so the
// linked build can mount them all before the first run.
func configLocations(path string, depth int) ([]string, error) {
	if depth > 16 {
		return nil, fmt.Errorf("%s: load nested too deeply", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case word == "load" && rest != "":
			sub, err := configLocations(rest, depth+1)
			if err != nil {
				return nil, err
			}
			paths = append(paths, sub...)
		case word == "set" && strings.HasPrefix(rest, "location"):
			cfg, _, err := postmark.ParseConfig(strings.NewReader(line + "\n"))
			if err != nil {
				continue // Main reports it
			}
			for _, l := range cfg.Locations {
				paths = append(paths, filepath.Clean(l.Path))
			}
		}
	}
	return paths, sc.Err()
}
