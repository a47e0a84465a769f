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
// walk across mounts. Each component is looked up under its directory's
// lock alone, so a walk racing with renames sees each directory before or
// after a rename, as a Linux path walk does. Errors: ENOENT, ENOTDIR,
// ELOOP (more than 40 symlinks), ENAMETOOLONG.
func (fs *FS) Walk(path string) (*Inode, error) {
	return fs.walk(path, true, false)
}

// walk is Walk; with follow false a symlink in the last component is
// returned itself (unless the path ends in '/'). With ref it takes a
// reference on the inode it returns, with the directory it was found in
// still locked, as LookupRef does.
func (fs *FS) walk(path string, follow, ref bool) (*Inode, error) {
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
			// Only slashes: the root, which is never released.
			if ref {
				fs.Ref(cur)
			}
			return cur, nil
		}
		name := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			name, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		d := cur.dir
		if d == nil {
			return nil, syscall.ENOTDIR
		}
		d.mu.RLock()
		next, err := fs.lookupLocked(cur, name)
		if err != nil {
			d.mu.RUnlock()
			return nil, err
		}
		isLink := next.typ() == sIFLNK && (follow || rest != "")
		if !isLink && rest != "" && !next.isDir() {
			d.mu.RUnlock()
			return nil, syscall.ENOTDIR
		}
		if !isLink && strings.TrimLeft(rest, "/") == "" {
			// The last component.
			if ref {
				fs.Ref(next)
			}
			d.mu.RUnlock()
			return next, nil
		}
		d.mu.RUnlock()
		if isLink {
			links++
			if links > maxSymlinks {
				return nil, syscall.ELOOP
			}
			next.mu.Lock()
			fs.accessedLocked(next)
			next.mu.Unlock()
			if next.target[0] == '/' {
				cur = fs.root
			}
			rest = next.target + rest
			continue
		}
		cur = next
	}
}
