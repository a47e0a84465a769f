package backing

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// helperArg0 marks the process Mount starts (see the package doc).
const helperArg0 = "fsshim-tmpfs-helper"

func init() {
	// The helper is this binary started again; it does its job before
	// main (or TestMain) runs and exits.
	if len(os.Args) > 1 && os.Args[0] == helperArg0 {
		os.Exit(runHelper(os.Args[1:]))
	}
}

// Mount makes one private tmpfs per size (bytes; 0 = no limit, as tmpfs's
// size=0) and returns them. The error wraps ErrUnavailable when the kernel
// refuses the namespaces or the mount.
//
// Where fsshim may mount in its own mount namespace (root), the tmpfs is
// made here, with the new mount API: fsmount returns a mount that is in no
// namespace's tree at all, as the helper's is once detached, and no
// process is started. Elsewhere the helper makes it in a user namespace.
func Mount(sizes []int64) ([]*Dir, error) {
	if len(sizes) == 0 {
		return nil, nil
	}
	dirs, err := mountHere(sizes)
	if err == nil {
		return dirs, nil
	}
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EACCES) {
		return nil, wrap(err)
	}
	return mountByHelper(sizes)
}

// mountHere makes the tmpfs mounts with fsopen, fsconfig and fsmount.
func mountHere(sizes []int64) ([]*Dir, error) {
	var dirs []*Dir
	fail := func(err error) ([]*Dir, error) {
		for _, d := range dirs {
			d.Close()
		}
		return nil, err
	}
	for _, size := range sizes {
		fd, err := detachedTmpfs(size)
		if err != nil {
			return fail(err)
		}
		d, err := newDir(fd) // closes fd on failure
		if err != nil {
			return fail(err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// detachedTmpfs returns a directory fd on the root of a new tmpfs that no
// path reaches (the helper's options: mode=0700, huge=never, size).
func detachedTmpfs(size int64) (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fsfd)
	for _, o := range [][2]string{{"source", "fsshim"}, {"mode", "0700"}, {"huge", "never"}, {"size", strconv.FormatInt(size, 10)}} {
		if err := unix.FsconfigSetString(fsfd, o[0], o[1]); err != nil {
			return -1, fmt.Errorf("fsconfig %s=%s: %w", o[0], o[1], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mfd)
	fd, err := unix.Openat(mfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening the tmpfs root: %w", err)
	}
	return fd, nil
}

// mountByHelper makes the tmpfs mounts in a helper process (see the
// package doc).
func mountByHelper(sizes []int64) ([]*Dir, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, wrap(err)
	}
	mine := os.NewFile(uintptr(pair[0]), "tmpfs-helper")
	theirs := os.NewFile(uintptr(pair[1]), "tmpfs-helper")
	defer mine.Close()
	args := []string{helperArg0}
	for _, s := range sizes {
		args = append(args, strconv.FormatInt(s, 10))
	}
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: args, ExtraFiles: []*os.File{theirs}, Stderr: os.Stderr, SysProcAttr: attr}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return nil, wrap(err)
	}
	fds, rerr := receive(pair[0], len(sizes))
	if err := cmd.Wait(); err != nil && rerr == nil {
		rerr = err
	}
	if rerr != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, wrap(rerr)
	}
	dirs := make([]*Dir, 0, len(fds))
	for _, fd := range fds {
		d, err := newDir(fd)
		if err != nil {
			for _, d := range dirs {
				d.Close()
			}
			return nil, wrap(err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// receive reads n directory fds from the helper.
func receive(sock, n int) ([]int, error) {
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4*n))
	k, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if oobn == 0 {
		return nil, fmt.Errorf("tmpfs helper: %s", buf[:k])
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			return fds, err
		}
		fds = append(fds, got...)
	}
	if len(fds) != n {
		return fds, fmt.Errorf("tmpfs helper sent %d fds, want %d", len(fds), n)
	}
	return fds, nil
}

// runHelper is the helper's side: it runs in its own mount namespace.
func runHelper(args []string) int {
	const sock = 3
	fail := func(err error) int {
		unix.Sendmsg(sock, []byte(err.Error()), nil, nil, 0)
		return 1
	}
	// Nothing mounted here may propagate to the host's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail(fmt.Errorf("making / private: %w", err))
	}
	point := ""
	for _, p := range []string{"/tmp", "/mnt", "/dev", "/proc"} {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			point = p
			break
		}
	}
	if point == "" {
		return fail(fmt.Errorf("no directory to mount a tmpfs on"))
	}
	var fds []int
	for _, a := range args {
		size, err := strconv.ParseInt(a, 10, 64)
		if err != nil || size < 0 {
			return fail(fmt.Errorf("bad size %q", a))
		}
		opts := "mode=0700,huge=never,size=" + strconv.FormatInt(size, 10)
		if err := unix.Mount("fsshim", point, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return fail(fmt.Errorf("mount -t tmpfs: %w", err))
		}
		fd, err := unix.Open(point, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fail(err)
		}
		if err := unix.Unmount(point, unix.MNT_DETACH); err != nil {
			return fail(fmt.Errorf("detaching the tmpfs: %w", err))
		}
		fds = append(fds, fd)
	}
	if err := unix.Sendmsg(sock, []byte("ok"), unix.UnixRights(fds...), nil, 0); err != nil {
		return 1
	}
	return 0
}
