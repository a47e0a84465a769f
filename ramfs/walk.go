package ramfs

import (
	"strings"
	"syscall"
)

// maxSymlinks is the number of symlinks one walk may follow (MAXSYMLINKS).
const maxSymlinks = 40

// pathMax is the longest path, including its terminating NUL (PATH_MAX).
const pathMax = 4096

// Walk resolves path from the root and follows symlinks, also in the last
// component, like open(2) without O_NOFOLLOW. A leading '/' is optional,
// "." and ".." work (".." of the root is the root), and an absolute symlink
// target starts again at this FS's root. A trailing '/' requires a
// directory. It is meant for library users and tests: emul does its own
// walk across mounts. Errors: ENOENT, ENOTDIR, ELOOP (more than 40
// symlinks), ENAMETOOLONG.
func (fs *FS) Walk(path string) (*Inode, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.walkLocked(path, true)
}

// walkLocked is Walk; with follow false a symlink in the last component is
// returned itself (unless the path ends in '/').
//
// Preconditions: fs.mu is locked.
func (fs *FS) walkLocked(path string, follow bool) (*Inode, error) {
	if path == "" {
		return nil, syscall.ENOENT
	}
	if len(path) >= pathMax {
		return nil, syscall.ENAMETOOLONG
	}
	cur, rest, links := fs.root, path, 0
	for {
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			return cur, nil
		}
		name := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		next, err := fs.lookupLocked(cur, name)
		if err != nil {
			return nil, err
		}
		if next.typ() == sIFLNK && (follow || rest != "") {
			links++
			if links > maxSymlinks {
				return nil, syscall.ELOOP
			}
			fs.accessedLocked(next)
			if next.target[0] == '/' {
				cur = fs.root
			}
			rest = next.target + rest
			continue
		}
		if rest != "" && !next.isDir() {
			return nil, syscall.ENOTDIR
		}
		cur = next
	}
}
