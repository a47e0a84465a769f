package ramfs

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

// TestErrnos checks each documented errno of each operation, in a tree
//
//	/d/f  /f  /l -> f  /e/  /fifo  /dead (removed, still referenced)
func TestErrnos(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	root := fsys.Root()
	d := mkdir(t, fsys, root, "d")
	mkfile(t, fsys, d, "f")
	f := mkfile(t, fsys, root, "f")
	writeString(t, fsys, f, "hello", 0)
	l, err := fsys.Symlink(root, "l", "f", 0, 0)
	ok(t, err)
	e := mkdir(t, fsys, root, "e")
	fifo, err := fsys.Mknod(root, "fifo", sIFIFO|0o644, 0, 0, 0)
	ok(t, err)
	chr, err := fsys.Mknod(root, "chr", sIFCHR|0o644, 0x0103, 0, 0)
	ok(t, err)
	dead := mkdir(t, fsys, root, "dead")
	fsys.Ref(dead)
	ok(t, fsys.Rmdir(root, "dead"))
	gone := mkfile(t, fsys, root, "gone")
	fsys.Ref(gone)
	ok(t, fsys.Unlink(root, "gone"))
	other := New(Options{})
	long := strings.Repeat("n", NameMax+1)
	max := strings.Repeat("n", NameMax)

	small := New(Options{MaxLinks: 3})
	sdir, err := small.Mkdir(small.Root(), "sd", 0o755, 0, 0)
	ok(t, err)
	sfile, err := small.Create(small.Root(), "sf", 0o644, 0, 0)
	ok(t, err)
	ok(t, small.Link(small.Root(), "sf2", sfile))
	ok(t, small.Link(small.Root(), "sf3", sfile)) // sf: nlink 3
	_, err = small.Mkdir(sdir, "x", 0o755, 0, 0)  // sd: nlink 3
	ok(t, err)

	full := New(Options{Capacity: inodeCost})
	fullInodes := New(Options{MaxInodes: 1})

	var buf [8]byte
	tests := []struct {
		name string
		err  error
		want syscall.Errno
	}{
		// Lookup
		{"Lookup in file", errOf(fsys.Lookup(f, "x")), syscall.ENOTDIR},
		{"Lookup missing", errOf(fsys.Lookup(root, "missing")), syscall.ENOENT},
		{"Lookup empty", errOf(fsys.Lookup(root, "")), syscall.ENOENT},
		{"Lookup long", errOf(fsys.Lookup(root, long)), syscall.ENAMETOOLONG},
		{"Lookup 255", errOf(fsys.Lookup(root, max)), syscall.ENOENT},
		{"Lookup slash", errOf(fsys.Lookup(root, "d/f")), syscall.EINVAL},
		{"Lookup in removed dir", errOf(fsys.Lookup(dead, "x")), syscall.ENOENT},
		{"Lookup dot", errOf(fsys.Lookup(root, ".")), 0},
		{"Lookup dotdot in removed dir", errOf(fsys.Lookup(dead, "..")), 0},

		// Create
		{"Create in file", errOf(fsys.Create(f, "x", 0o644, 0, 0)), syscall.ENOTDIR},
		{"Create existing", errOf(fsys.Create(root, "f", 0o644, 0, 0)), syscall.EEXIST},
		{"Create over dir", errOf(fsys.Create(root, "d", 0o644, 0, 0)), syscall.EEXIST},
		{"Create dot", errOf(fsys.Create(root, ".", 0o644, 0, 0)), syscall.EEXIST},
		{"Create dotdot", errOf(fsys.Create(root, "..", 0o644, 0, 0)), syscall.EEXIST},
		{"Create empty", errOf(fsys.Create(root, "", 0o644, 0, 0)), syscall.ENOENT},
		{"Create long", errOf(fsys.Create(root, long, 0o644, 0, 0)), syscall.ENAMETOOLONG},
		{"Create slash", errOf(fsys.Create(root, "a/b", 0o644, 0, 0)), syscall.EINVAL},
		{"Create NUL", errOf(fsys.Create(root, "a\x00b", 0o644, 0, 0)), syscall.EINVAL},
		{"Create in removed dir", errOf(fsys.Create(dead, "x", 0o644, 0, 0)), syscall.ENOENT},
		{"Create full", errOf(full.Create(full.Root(), "x", 0o644, 0, 0)), syscall.ENOSPC},
		{"Create no inodes", errOf(fullInodes.Create(fullInodes.Root(), "x", 0o644, 0, 0)), syscall.ENOSPC},

		// Mkdir
		{"Mkdir in file", errOf(fsys.Mkdir(f, "x", 0o755, 0, 0)), syscall.ENOTDIR},
		{"Mkdir existing", errOf(fsys.Mkdir(root, "d", 0o755, 0, 0)), syscall.EEXIST},
		{"Mkdir dot", errOf(fsys.Mkdir(root, ".", 0o755, 0, 0)), syscall.EEXIST},
		{"Mkdir dotdot", errOf(fsys.Mkdir(root, "..", 0o755, 0, 0)), syscall.EEXIST},
		{"Mkdir long", errOf(fsys.Mkdir(root, long, 0o755, 0, 0)), syscall.ENAMETOOLONG},
		{"Mkdir in removed dir", errOf(fsys.Mkdir(dead, "x", 0o755, 0, 0)), syscall.ENOENT},
		{"Mkdir too many links", errOf(small.Mkdir(sdir, "y", 0o755, 0, 0)), syscall.EMLINK},
		{"Mkdir full", errOf(full.Mkdir(full.Root(), "x", 0o755, 0, 0)), syscall.ENOSPC},

		// Symlink
		{"Symlink empty target", errOf(fsys.Symlink(root, "s", "", 0, 0)), syscall.ENOENT},
		{"Symlink long target", errOf(fsys.Symlink(root, "s", strings.Repeat("t", SymlinkMax+1), 0, 0)), syscall.ENAMETOOLONG},
		{"Symlink long target first", errOf(fsys.Symlink(f, "f", strings.Repeat("t", SymlinkMax+1), 0, 0)), syscall.ENAMETOOLONG},
		{"Symlink existing", errOf(fsys.Symlink(root, "l", "x", 0, 0)), syscall.EEXIST},
		{"Symlink dotdot", errOf(fsys.Symlink(root, "..", "x", 0, 0)), syscall.EEXIST},
		{"Symlink in file", errOf(fsys.Symlink(f, "s", "x", 0, 0)), syscall.ENOTDIR},
		{"Symlink full", errOf(full.Symlink(full.Root(), "s", "x", 0, 0)), syscall.ENOSPC},

		// Mknod
		{"Mknod dir", errOf(fsys.Mknod(root, "m", sIFDIR|0o755, 0, 0, 0)), syscall.EPERM},
		{"Mknod symlink", errOf(fsys.Mknod(root, "m", sIFLNK|0o777, 0, 0, 0)), syscall.EINVAL},
		{"Mknod bad type", errOf(fsys.Mknod(root, "m", 0o170000, 0, 0, 0)), syscall.EINVAL},
		{"Mknod type before ENOTDIR", errOf(fsys.Mknod(f, "m", sIFDIR, 0, 0, 0)), syscall.EPERM},
		{"Mknod existing", errOf(fsys.Mknod(root, "fifo", sIFIFO|0o644, 0, 0, 0)), syscall.EEXIST},
		{"Mknod dot", errOf(fsys.Mknod(root, ".", sIFIFO|0o644, 0, 0, 0)), syscall.EEXIST},
		{"Mknod full", errOf(full.Mknod(full.Root(), "m", sIFIFO, 0, 0, 0)), syscall.ENOSPC},

		// Link
		{"Link to dir", fsys.Link(root, "x", d), syscall.EPERM},
		{"Link to unlinked", fsys.Link(root, "x", gone), syscall.ENOENT},
		{"Link existing name", fsys.Link(root, "d", f), syscall.EEXIST},
		{"Link dot", fsys.Link(root, ".", f), syscall.EEXIST},
		{"Link in file", fsys.Link(f, "x", f), syscall.ENOTDIR},
		{"Link in removed dir", fsys.Link(dead, "x", f), syscall.ENOENT},
		{"Link long", fsys.Link(root, long, f), syscall.ENAMETOOLONG},
		{"Link across FS", fsys.Link(root, "x", other.Root()), syscall.EXDEV},
		{"Link too many", small.Link(small.Root(), "sf4", sfile), syscall.EMLINK},

		// Unlink
		{"Unlink dir", fsys.Unlink(root, "d"), syscall.EISDIR},
		{"Unlink dot", fsys.Unlink(root, "."), syscall.EISDIR},
		{"Unlink dotdot", fsys.Unlink(root, ".."), syscall.EISDIR},
		{"Unlink missing", fsys.Unlink(root, "missing"), syscall.ENOENT},
		{"Unlink empty", fsys.Unlink(root, ""), syscall.ENOENT},
		{"Unlink long", fsys.Unlink(root, long), syscall.ENAMETOOLONG},
		{"Unlink in file", fsys.Unlink(f, "x"), syscall.ENOTDIR},
		{"Unlink in removed dir", fsys.Unlink(dead, "x"), syscall.ENOENT},

		// Rmdir
		{"Rmdir dot", fsys.Rmdir(root, "."), syscall.EINVAL},
		{"Rmdir dotdot", fsys.Rmdir(root, ".."), syscall.ENOTEMPTY},
		{"Rmdir not empty", fsys.Rmdir(root, "d"), syscall.ENOTEMPTY},
		{"Rmdir file", fsys.Rmdir(root, "f"), syscall.ENOTDIR},
		{"Rmdir symlink to dir", fsys.Rmdir(root, "l"), syscall.ENOTDIR},
		{"Rmdir missing", fsys.Rmdir(root, "missing"), syscall.ENOENT},
		{"Rmdir in file", fsys.Rmdir(f, "x"), syscall.ENOTDIR},
		{"Rmdir long", fsys.Rmdir(root, long), syscall.ENAMETOOLONG},
		{"Rmdir in removed dir", fsys.Rmdir(dead, "x"), syscall.ENOENT},

		// Readlink
		{"Readlink file", errOf(fsys.Readlink(f)), syscall.EINVAL},
		{"Readlink dir", errOf(fsys.Readlink(d)), syscall.EINVAL},
		{"Readlink symlink", errOf(fsys.Readlink(l)), 0},

		// ReadAt, WriteAt
		{"ReadAt dir", errOf(fsys.ReadAt(d, buf[:], 0)), syscall.EISDIR},
		{"ReadAt fifo", errOf(fsys.ReadAt(fifo, buf[:], 0)), syscall.EINVAL},
		{"ReadAt symlink", errOf(fsys.ReadAt(l, buf[:], 0)), syscall.EINVAL},
		{"ReadAt negative", errOf(fsys.ReadAt(f, buf[:], -1)), syscall.EINVAL},
		{"ReadAt overflow", errOf(fsys.ReadAt(f, buf[:], MaxFileSize-4)), syscall.EINVAL},
		{"ReadAt past EOF", errOf(fsys.ReadAt(f, buf[:], 100)), 0},
		{"WriteAt dir", errOf(fsys.WriteAt(d, buf[:], 0)), syscall.EISDIR},
		{"WriteAt chr", errOf(fsys.WriteAt(chr, buf[:], 0)), syscall.EINVAL},
		{"WriteAt negative", errOf(fsys.WriteAt(f, buf[:], -1)), syscall.EINVAL},
		{"WriteAt past max", errOf(fsys.WriteAt(f, buf[:2], MaxFileSize)), syscall.EINVAL},

		// Truncate
		{"Truncate dir", fsys.Truncate(d, 0), syscall.EISDIR},
		{"Truncate fifo", fsys.Truncate(fifo, 0), syscall.EINVAL},
		{"Truncate symlink", fsys.Truncate(l, 0), syscall.EINVAL},
		{"Truncate negative", fsys.Truncate(f, -1), syscall.EINVAL},

		// Allocate
		{"Allocate zero length", fsys.Allocate(f, 0, 0, 0), syscall.EINVAL},
		{"Allocate negative offset", fsys.Allocate(f, 0, -1, 10), syscall.EINVAL},
		{"Allocate punch without keep", fsys.Allocate(f, FallocPunchHole, 0, 10), syscall.EOPNOTSUPP},
		{"Allocate unknown bit", fsys.Allocate(f, 0x100, 0, 10), syscall.EOPNOTSUPP},
		{"Allocate no-hide-stale", fsys.Allocate(f, 0x04, 0, 10), syscall.EOPNOTSUPP},
		{"Allocate zero range", fsys.Allocate(f, fallocZeroRange, 0, 10), syscall.EOPNOTSUPP},
		{"Allocate collapse", fsys.Allocate(f, fallocCollapseRange, 0, 4096), syscall.EOPNOTSUPP},
		{"Allocate insert", fsys.Allocate(f, fallocInsertRange, 0, 4096), syscall.EOPNOTSUPP},
		{"Allocate dir", fsys.Allocate(d, 0, 0, 10), syscall.EISDIR},
		{"Allocate dir zero range", fsys.Allocate(d, fallocZeroRange, 0, 10), syscall.EISDIR},
		{"Allocate fifo", fsys.Allocate(fifo, 0, 0, 10), syscall.ESPIPE},
		{"Allocate chr", fsys.Allocate(chr, 0, 0, 10), syscall.ENODEV},
		{"Allocate symlink", fsys.Allocate(l, 0, 0, 10), syscall.ENODEV},
		{"Allocate overflow", fsys.Allocate(f, 0, 1<<62, 1<<62), syscall.EFBIG},
		{"Allocate huge", fsys.Allocate(f, FallocKeepSize, 1<<62, 1<<61), syscall.ENOSPC},

		// SeekData, SeekHole
		{"SeekData at EOF", errOf(fsys.SeekData(f, 5)), syscall.ENXIO},
		{"SeekData negative", errOf(fsys.SeekData(f, -1)), syscall.ENXIO},
		{"SeekData dir", errOf(fsys.SeekData(d, 0)), syscall.EINVAL},
		{"SeekHole at EOF", errOf(fsys.SeekHole(f, 5)), syscall.ENXIO},
		{"SeekHole fifo", errOf(fsys.SeekHole(fifo, 0)), syscall.EINVAL},

		// ReadDir
		{"ReadDir file", fsys.ReadDir(f, 0, nil), syscall.ENOTDIR},
		{"ReadDir removed dir", fsys.ReadDir(dead, 0, nil), syscall.ENOENT},
		{"ReadDir negative", fsys.ReadDir(e, -1, nil), syscall.EINVAL},

		// Metadata
		{"Chown bad uid", fsys.Chown(f, -2, -1), syscall.EINVAL},
		{"Chown bad gid", fsys.Chown(f, -1, 1<<32), syscall.EINVAL},
		{"Chown -1", fsys.Chown(f, -1, -1), 0},

		// Tmpfile
		{"Tmpfile in file", errOf(fsys.Tmpfile(f, 0o600, 0, 0)), syscall.ENOTDIR},
		{"Tmpfile in removed dir", errOf(fsys.Tmpfile(dead, 0o600, 0, 0)), syscall.ENOENT},
		{"Tmpfile full", errOf(full.Tmpfile(full.Root(), 0o600, 0, 0)), syscall.ENOSPC},
	}
	for _, tt := range tests {
		wantErrno(t, tt.name, tt.err, tt.want)
	}
	fsys.Unref(dead)
	fsys.Unref(gone)
	mustInvariants(t, fsys)
}

func errOf[T any](_ T, err error) error { return err }

func TestErrnoIsErrNotExist(t *testing.T) {
	fsys := New(Options{})
	_, err := fsys.Lookup(fsys.Root(), "missing")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
	if _, ok := err.(syscall.Errno); !ok {
		t.Errorf("error %T is not a bare syscall.Errno", err)
	}
	mkfile(t, fsys, fsys.Root(), "x")
	_, err = fsys.Create(fsys.Root(), "x", 0o644, 0, 0)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("errors.Is(%v, fs.ErrExist) = false", err)
	}
}
