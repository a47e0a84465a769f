package main

import (
	"golang.org/x/sys/unix"
)

func init() {
	register("permissions", scenPermissions)
}

// scenPermissions checks the permission rules a file system applies to the
// caller's own files: search permission on every directory of a walk,
// write permission on a directory to create, remove or rename in it, the
// mode of a file for open and truncate, and execute for access(X_OK). As
// root most of these pass by privilege; as an ordinary user they fail, and
// both must match Linux.
func scenPermissions(s *S) {
	root := s.uid == 0
	denied := func(r R) {
		if root {
			r.OK()
		} else {
			r.Err(unix.EACCES)
		}
	}
	mustWrite("f", "data")
	s.mkdir("d", 0o755).OK()
	mustWrite("d/inner", "inner")
	mustWrite("d/victim", "v")
	mustWrite("d/victim2", "v")

	// No search permission on d: nothing below it can be reached.
	s.chmod("d", 0o644).OK()
	r, _ := s.stat("d/inner")
	denied(r)
	denied(s.open("d/inner", unix.O_RDONLY, 0))
	denied(s.access("d/inner", unix.F_OK))
	denied(s.chdir("d"))
	if root {
		s.chdir("..").OK()
	}
	s.chmod("d", 0o755).OK()

	// No write permission on d: no entries may be added or removed.
	s.chmod("d", 0o555).OK()
	denied(s.open("d/new", unix.O_CREAT|unix.O_WRONLY, 0o644))
	denied(s.mkdir("d/sub", 0o755))
	denied(s.unlink("d/victim"))
	denied(s.rename("d/victim2", "d/moved"))
	denied(s.symlink("x", "d/l"))
	denied(s.link("f", "d/hard"))
	// Existing files stay writable: the directory's mode does not matter.
	fd := s.open("d/inner", unix.O_WRONLY|unix.O_APPEND, 0).OK()
	s.write(fd, "+").Is(1)
	s.close(fd).OK()
	s.chmod("d", 0o755).OK()

	// The file's own mode.
	s.chmod("f", 0o444).OK()
	denied(s.open("f", unix.O_WRONLY, 0))
	denied(s.open("f", unix.O_RDONLY|unix.O_TRUNC, 0))
	denied(s.truncate("f", 1))
	denied(s.access("f", unix.W_OK))
	s.access("f", unix.R_OK).OK()
	s.chmod("f", 0o200).OK()
	denied(s.open("f", unix.O_RDONLY, 0))
	s.chmod("f", 0o644).OK()
	// X_OK: even root needs one execute bit on a regular file.
	s.access("f", unix.X_OK).Err(unix.EACCES)
	s.chmod("f", 0o100).OK()
	s.access("f", unix.X_OK).OK()
	s.chmod("f", 0o644).OK()

	// Timestamps: the owner may set them whatever the mode.
	s.chmod("f", 0o444).OK()
	now := []unix.Timespec{{Sec: 1000000000}, {Sec: 1000000000}}
	s.utimensat(unix.AT_FDCWD, strp("f"), now, 0).OK()
	s.chmod("f", 0o644).OK()

	// Set-user-ID is cleared by a write from anyone but root.
	s.chmod("f", 0o4755).OK()
	fd = s.open("f", unix.O_WRONLY|unix.O_APPEND, 0).OK()
	s.write(fd, "x").Is(1)
	s.close(fd).OK()
	s.stat("f")
	s.chmod("f", 0o644).OK()

	// A sticky directory still lets the owner remove its own entries.
	s.mkdir("t", 0o1777).OK()
	mustWrite("t/mine", "m")
	s.unlink("t/mine").OK()
	s.rmdir("t").OK()
}

func strp(v string) *string { return &v }
