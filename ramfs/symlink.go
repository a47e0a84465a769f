package ramfs

import "syscall"

// symlinkCost is what a symlink target costs: short targets are kept in the
// inode, longer ones in a page (shmem_symlink).
func symlinkCost(n int) int64 {
	if n >= shortSymlinkLen {
		return pageSize
	}
	return int64(n)
}

// Symlink makes a symbolic link to target with mode 0777. Errors: ENOENT
// (empty target), ENAMETOOLONG (target longer than SymlinkMax), checked
// first as getname does, then those of Create.
func (fs *FS) Symlink(dir *Inode, name, target string, uid, gid uint32) (*Inode, error) {
	switch {
	case target == "":
		return nil, syscall.ENOENT
	case len(target) > SymlinkMax:
		return nil, syscall.ENAMETOOLONG
	}
	if !lockDir(dir) {
		return nil, syscall.ENOTDIR
	}
	defer unlockDir(dir)
	if err := fs.checkCreateLocked(dir, name); err != nil {
		return nil, err
	}
	return fs.createLocked(dir, name, sIFLNK|0o777, uid, gid, 0, target)
}

// Readlink returns a symlink's target and applies the relatime rule to its
// atime, as readlink(2) does. Error: EINVAL if n is not a symlink.
func (fs *FS) Readlink(n *Inode) (string, error) {
	if n.typ() != sIFLNK {
		return "", syscall.EINVAL
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	fs.accessedLocked(n)
	return n.target, nil
}
