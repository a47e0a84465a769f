package main

import "golang.org/x/sys/unix"

func init() {
	register("rename_order", scenRenameOrder)
}

// scenRenameOrder checks which error rename answers when several apply, in
// the order fs/namei.c:do_renameat2 and vfs_rename check them: "." and
// "..", a missing source, RENAME_NOREPLACE on an existing target, a
// directory moved below itself or replaced from below, and a rename onto
// the same inode come before the permission checks on the directories; the
// types of source and target after them. The directory is read-only, so an
// ordinary user gets EACCES wherever the permission check comes first.
func scenRenameOrder(s *S) {
	afterPerm := func(r R, e unix.Errno) {
		if s.uid == 0 {
			r.Err(e)
		} else {
			r.Err(unix.EACCES)
		}
	}
	s.mkdir("ro", 0o755).OK()
	mustWrite("ro/a", "a")
	s.link("ro/a", "ro/hl").OK()
	s.mkdir("ro/d", 0o755).OK()
	s.mkdir("ro/d/sub", 0o755).OK()
	mustWrite("ro/d/f", "f")
	s.chmod("ro", 0o555).OK()
	s.chmod("ro/d", 0o555).OK()

	s.rename("ro/a", "ro/.").Err(unix.EBUSY)
	s.rename("ro/nope", "ro/x").Err(unix.ENOENT)
	s.renameat2(cwd, "ro/a", cwd, "ro/hl", unix.RENAME_NOREPLACE).Err(unix.EEXIST)
	s.renameat2(cwd, "ro/a", cwd, "ro/nope", unix.RENAME_EXCHANGE).Err(unix.ENOENT)
	s.rename("ro/d", "ro/d/sub/x").Err(unix.EINVAL)
	s.rename("ro/d/sub", "ro/d/sub/y").Err(unix.EINVAL)
	s.renameat2(cwd, "ro/d", cwd, "ro/d/sub", unix.RENAME_EXCHANGE).Err(unix.EINVAL)
	s.rename("ro/d/f", "ro").Err(unix.ENOTEMPTY)
	s.renameat2(cwd, "ro/d/f", cwd, "ro", unix.RENAME_EXCHANGE).Err(unix.EINVAL)
	// The same inode under two names: nothing to do, both names stay.
	s.rename("ro/a", "ro/hl").OK()
	s.content("ro/a")
	s.content("ro/hl")
	afterPerm(s.rename("ro/a", "ro/d"), unix.EISDIR)
	afterPerm(s.rename("ro/d", "ro/a"), unix.ENOTDIR)
	afterPerm(s.rename("ro/a", "ro/b"), 0)

	s.chmod("ro/d", 0o755).OK()
	s.chmod("ro", 0o755).OK()
}
