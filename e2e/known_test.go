package e2e

// knownDifferences lists the cases where fsshim is known to differ from
// Linux, each with the reason. A key is a case's name (every fsshim leg)
// or NAME/TRANSPORT (that transport's leg only). Such a case passes while
// it still differs and fails once it matches, so the list cannot go
// stale. Nothing goes here without a reason a reader can check in
// README.md's limits.
var knownDifferences = map[string]string{
	// Under --data forward file data is fsshim's: shared writable
	// mappings would have to see every write through the ramfs and the
	// other way round; private and read-only ones work.
	"mmap_shared/forward": "under --data forward, MAP_SHARED writable mappings of ramfs files answer ENODEV",
	// SQLite's WAL mode maps its -shm file MAP_SHARED and writable.
	"sqlite3_wal/forward":        "under --data forward, needs MAP_SHARED writable mappings (WAL's -shm file)",
	"sqlite3_wal/ptrace-forward": "under --data forward, needs MAP_SHARED writable mappings (WAL's -shm file)",
}

// knownDifference returns the reason case name is known to differ under
// transport tr.
func knownDifference(name, tr string) (string, bool) {
	if why, ok := knownDifferences[name+"/"+tr]; ok {
		return why, true
	}
	why, ok := knownDifferences[name]
	return why, ok
}
