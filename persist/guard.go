package persist

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// Guard lists host directories that a save must never write: the
// directories that fsshim's mounts and overlays hide. fsshim promises not
// to change them, and a save that replaced one of them, or a directory
// holding one, would delete what the program was shown as gone while it
// ran but is in fact the user's data.
//
// A destination is refused when it is, is inside, or contains one of them,
// or when the temporary name a save builds under beside it would be one of
// them or hold one. Paths are compared after resolving the symlinks of
// every existing component (a dangling symlink is followed too; what does
// not exist is taken as written), and existing directories are also
// compared by device and inode, walking up through "..", so that a bind
// mount or any other alias of a protected directory is caught however it
// is spelled.
//
// The zero Guard protects nothing.
type Guard []string

// ProtectedError is the refusal of a save destination by a Guard.
type ProtectedError struct {
	Dest string // the destination as given
	Dir  string // the protected host directory
	How  string // "is", "is inside", "contains", ...
}

func (e *ProtectedError) Error() string {
	return fmt.Sprintf("persist: the save destination %s %s %s, a host directory behind a mount or an overlay, which is never written", e.Dest, e.How, e.Dir)
}

// Check refuses dest (absolute or relative to the working directory) if
// saving to it could write to or replace a protected directory. It holds
// for both kinds of save: a directory save replaces dest and builds its
// copy beside it; a tar save writes the file dest and a temporary file
// beside it.
func (g Guard) Check(dest string) error {
	if len(g) == 0 {
		return nil
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return err
	}
	real, err := resolve(abs)
	if err != nil {
		return fmt.Errorf("persist: checking the save destination %s: %w", dest, err)
	}
	t := target{given: dest, lexical: abs, real: real}
	if real != "/" {
		// The existing directory nearest to dest, and its ancestors.
		for d := filepath.Dir(real); ; d = filepath.Dir(d) {
			fd, err := unix.Open(d, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				t.chain, err = dirChain(fd)
				unix.Close(fd)
				if err != nil {
					return fmt.Errorf("persist: checking the save destination %s: %w", dest, err)
				}
				break
			}
			if d == "/" {
				return fmt.Errorf("persist: checking the save destination %s: %w", dest, err)
			}
		}
	}
	var st unix.Stat_t
	if unix.Lstat(real, &st) == nil {
		t.self = idOf(&st)
	}
	return g.check(&t)
}

// checkAt is Check for the entry base of the directory open at dirfd, as
// a save is about to write it: the directory's ancestors are found by
// inode through "..", not by name, so no symlink planted since Check can
// lead the save elsewhere. shown is the destination for messages.
func (g Guard) checkAt(dirfd int, base, shown string) error {
	if len(g) == 0 {
		return nil
	}
	parent, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(dirfd))
	if err != nil {
		return fmt.Errorf("persist: checking the save destination %s: %w", shown, err)
	}
	t := target{given: shown, lexical: filepath.Join(parent, base), real: filepath.Join(parent, base)}
	if t.chain, err = dirChain(dirfd); err != nil {
		return fmt.Errorf("persist: checking the save destination %s: %w", shown, err)
	}
	var st unix.Stat_t
	if unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		t.self = idOf(&st)
	}
	return g.check(&t)
}

// target is a save destination as Guard.check compares it.
type target struct {
	given, lexical, real string
	self                 fileID   // of dest itself, if it exists
	chain                []fileID // of the directory dest would be in and its ancestors
}

type fileID struct{ dev, ino uint64 }

func idOf(st *unix.Stat_t) fileID { return fileID{uint64(st.Dev), st.Ino} }

// check compares t with every protected directory.
func (g Guard) check(t *target) error {
	for _, p := range g {
		pl, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		pr, err := resolve(pl)
		if err != nil {
			pr = pl
		}
		var pid fileID
		var pchain []fileID // the protected directory and its ancestors
		if fd, err := unix.Open(pr, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
			pchain, err = dirChain(fd)
			unix.Close(fd)
			if err != nil {
				return fmt.Errorf("persist: checking the host directory %s: %w", p, err)
			}
			pid = pchain[0]
		}
		refuse := func(how string) error { return &ProtectedError{Dest: t.given, Dir: p, How: how} }
		switch {
		case t.lexical == pl || t.real == pr || (pid != fileID{} && t.self == pid):
			return refuse("is")
		case within(t.lexical, pl) || within(t.real, pr) || (pid != fileID{} && contains(t.chain, pid)):
			return refuse("is inside")
		case within(pl, t.lexical) || within(pr, t.real) || (t.self != fileID{} && len(pchain) > 1 && contains(pchain[1:], t.self)):
			return refuse("contains")
		}
		// The temporary copy and, for a directory, the previous tree are
		// kept beside dest under dest's name plus ".fsshim-...".
		dir, prefix := filepath.Dir(t.real), filepath.Base(t.real)+".fsshim-"
		for a := pr; a != "/" && a != "."; a = filepath.Dir(a) {
			if filepath.Dir(a) == dir && strings.HasPrefix(filepath.Base(a), prefix) {
				return refuse("would have its temporary copy at or around")
			}
		}
	}
	return nil
}

// within reports whether p is strictly inside the directory dir (both
// clean and absolute).
func within(p, dir string) bool {
	if dir == "/" {
		return p != "/"
	}
	return strings.HasPrefix(p, dir+"/")
}

func contains(ids []fileID, id fileID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// dirChain returns the identity of the directory open at fd and of each of
// its ancestors up to the root, found through "..": it follows the
// directory itself, however it was reached.
func dirChain(fd int) ([]fileID, error) {
	var ids []fileID
	cur := fd
	defer func() {
		if cur != fd {
			unix.Close(cur)
		}
	}()
	for range 4096 {
		var st unix.Stat_t
		if err := unix.Fstat(cur, &st); err != nil {
			return nil, err
		}
		id := idOf(&st)
		if len(ids) > 0 && ids[len(ids)-1] == id {
			return ids, nil // the root is its own parent
		}
		ids = append(ids, id)
		up, err := unix.Openat(cur, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		if cur != fd {
			unix.Close(cur)
		}
		cur = up
	}
	return nil, errors.New("directory tree too deep")
}

// resolve returns the absolute, clean path p with the symlinks of its
// existing components resolved, dangling ones included; from the first
// component that does not exist (or is not a directory) on, the rest is
// taken as written.
func resolve(p string) (string, error) {
	rest := strings.Split(filepath.Clean(p), "/")
	done := "/"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			done = filepath.Dir(done) // done has no symlinks
			continue
		}
		next := filepath.Join(done, c)
		fi, err := os.Lstat(next)
		if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return filepath.Join(append([]string{next}, rest...)...), nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&iofs.ModeSymlink == 0 {
			done = next
			continue
		}
		if links++; links > 255 {
			return "", &iofs.PathError{Op: "resolve", Path: p, Err: syscall.ELOOP}
		}
		to, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(to) {
			done = "/"
		}
		rest = append(strings.Split(to, "/"), rest...)
	}
	return done, nil
}

// SaveDir is the package's SaveDir, refusing a destination the guard
// protects, both before it starts and again on the directory it is about
// to write in.
func (g Guard) SaveDir(fs *ramfs.FS, root *ramfs.Inode, hostDir string) error {
	if err := g.Check(hostDir); err != nil {
		return err
	}
	return saveDir(fs, root, hostDir, true, g)
}

// SaveTar is the package's SaveTar, refusing a destination the guard
// protects, both before it starts and again on the directory it is about
// to write in.
func (g Guard) SaveTar(fs *ramfs.FS, root *ramfs.Inode, path string, gz bool) error {
	if err := g.Check(path); err != nil {
		return err
	}
	return saveTar(fs, root, path, gz, g)
}
