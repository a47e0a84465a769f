package e2e

// knownDifferences lists the cases where fsshim is known to differ from
// Linux, each with the reason. Such a case passes while it still differs and
// fails once it matches, so the list cannot go stale. Nothing goes here
// without a reason a reader can check in README.md's limits.
var knownDifferences = map[string]string{
	// Shared writable mappings would have to see every write through the
	// ramfs and the other way round; private and read-only ones work.
	"mmap_shared": "MAP_SHARED writable mappings of ramfs files answer ENODEV",
	// SQLite's WAL mode maps its -shm file MAP_SHARED and writable.
	"sqlite3_wal": "needs MAP_SHARED writable mappings (WAL's -shm file)",
	// The kernel's working directory cannot follow into a directory only
	// the ramfs has, and fsshim cannot have the kernel resolve the path
	// from elsewhere under unotify.
	"climb_out_deep": "a relative path that climbs out of a mount from below its root answers EXDEV",
	// Knowing that a host component is a symlink takes a question to the
	// kernel per component; fsshim asks only before a "..".
	"symlink_host_into": "host symlinks that point into a mount are followed by the host, not into the ramfs",
}
