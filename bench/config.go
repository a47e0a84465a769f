package bench

import (
	"fmt"
	"strings"

	"fsshim/bench/postmark"
)

// DefaultPostmarkConfig is `fsshim bench`'s built-in PostMark workload:
// 1000 files of 500 B to 10000 B in 10 subdirectories, 5000 transactions,
// one system call per 512-byte block (buffering off, so each transaction
// is a dozen or so file syscalls), seed 42. It has no location: the
// harness gives it a fresh directory. About 100,000 file syscalls per run,
// small enough for every transport to finish three runs in well under a
// minute on two cores.
func DefaultPostmarkConfig() postmark.Config {
	c := postmark.DefaultConfig()
	c.Number = 1000
	c.Transactions = 5000
	c.Size = [2]int64{500, 10000}
	c.Subdirectories = 10
	c.Buffering = false
	c.Report = "verbose"
	return c
}

// ConfigText writes cfg as PostMark commands that set every value,
// followed by one `run` and `quit`, so that Debian's postmark, `fsshim
// postmark` and postmark.ParseConfig all read the same configuration.
func ConfigText(cfg postmark.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set size %d %d\n", cfg.Size[0], cfg.Size[1])
	fmt.Fprintf(&b, "set number %d\n", cfg.Number)
	fmt.Fprintf(&b, "set seed %d\n", cfg.Seed)
	fmt.Fprintf(&b, "set transactions %d\n", cfg.Transactions)
	for i, l := range Locations(cfg) {
		plus := ""
		if i > 0 {
			plus = "+"
		}
		fmt.Fprintf(&b, "set location %s%s %d\n", plus, l.Path, l.Weight)
	}
	if cfg.Subdirectories > 0 {
		fmt.Fprintf(&b, "set subdirectories %d\n", cfg.Subdirectories)
	}
	fmt.Fprintf(&b, "set read %d\n", cfg.Read)
	fmt.Fprintf(&b, "set write %d\n", cfg.Write)
	fmt.Fprintf(&b, "set buffering %t\n", cfg.Buffering)
	fmt.Fprintf(&b, "set bias read %d\n", cfg.BiasRead)
	fmt.Fprintf(&b, "set bias create %d\n", cfg.BiasCreate)
	rep := cfg.Report
	if rep == "" {
		rep = "verbose"
	}
	fmt.Fprintf(&b, "set report %s\n", rep)
	b.WriteString("run\nquit\n")
	return b.String()
}

// Locations is cfg's effective list of working directories (empty: the
// current directory).
func Locations(cfg postmark.Config) []postmark.Location {
	if len(cfg.Locations) > 0 {
		return cfg.Locations
	}
	if cfg.Location != "" {
		return []postmark.Location{{Path: cfg.Location, Weight: 1}}
	}
	return nil
}

// DescribeConfig is a one-line summary of a PostMark configuration.
func DescribeConfig(cfg postmark.Config) string {
	size := fmt.Sprintf("%d B", cfg.Size[0])
	if cfg.Size[1] != cfg.Size[0] {
		size = fmt.Sprintf("%d–%d B", cfg.Size[0], cfg.Size[1])
	}
	io := "unbuffered"
	if cfg.Buffering {
		io = "buffered"
	}
	sub := ""
	if cfg.Subdirectories > 1 {
		sub = fmt.Sprintf(", %d subdirectories", cfg.Subdirectories)
	}
	return fmt.Sprintf("%d files of %s, %d transactions%s, %s I/O in %d/%d B blocks, seed %d",
		cfg.Number, size, cfg.Transactions, sub, io, cfg.Read, cfg.Write, cfg.Seed)
}
