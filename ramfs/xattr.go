package ramfs

import (
	"slices"
	"syscall"
)

// Extended attributes are kept on the inode, as tmpfs keeps them
// (simple_xattr): a name -> value map, freed with the inode. ramfs knows no
// namespaces and checks no permissions; which names a caller may read or
// write ("user.", "trusted."...) is the caller's business. It does apply
// the limits of the VFS (XATTR_NAME_MAX, XATTR_SIZE_MAX), so that whatever
// reaches the FS is something Linux could have stored.

// Flags of SetXattr, Linux values (include/uapi/linux/xattr.h).
const (
	XattrCreate  = 1 // fail with EEXIST if the name exists
	XattrReplace = 2 // fail with ENODATA if the name does not exist
)

// Limits on extended attributes, Linux values.
const (
	XattrNameMax = 255   // longest name (XATTR_NAME_MAX)
	XattrSizeMax = 65536 // largest value (XATTR_SIZE_MAX)
)

// xattrCost is what one attribute costs against the capacity: the bytes of
// its name and value.
func xattrCost(name string, value []byte) int64 {
	return int64(len(name) + len(value))
}

func checkXattrName(name string) error {
	if len(name) == 0 || len(name) > XattrNameMax {
		return syscall.ERANGE
	}
	return nil
}

// GetXattr returns a copy of the value of n's attribute name. Errors:
// ENODATA (no such attribute), ERANGE (name empty or longer than
// XattrNameMax).
func (fs *FS) GetXattr(n *Inode, name string) ([]byte, error) {
	if err := checkXattrName(name); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.xattrs[name]
	if !ok {
		return nil, syscall.ENODATA
	}
	return slices.Clone(v), nil
}

// ListXattr returns the names of n's attributes, sorted bytewise.
func (fs *FS) ListXattr(n *Inode) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	names := make([]string, 0, len(n.xattrs))
	for name := range n.xattrs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// SetXattr sets n's attribute name to a copy of value (which may be empty)
// and sets ctime, as shmem_xattr_handler_set does. The name and value
// bytes are charged against the capacity; replacing a value charges or
// refunds the difference. On an error nothing changes. Errors: EINVAL
// (flags other than XattrCreate|XattrReplace), ERANGE (name empty or longer
// than XattrNameMax), E2BIG (value longer than XattrSizeMax), EEXIST
// (XattrCreate and the name exists), ENODATA (XattrReplace and it does
// not), ENOSPC.
func (fs *FS) SetXattr(n *Inode, name string, value []byte, flags int) error {
	if flags&^(XattrCreate|XattrReplace) != 0 {
		return syscall.EINVAL
	}
	if err := checkXattrName(name); err != nil {
		return err
	}
	if len(value) > XattrSizeMax {
		return syscall.E2BIG
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	old, exists := n.xattrs[name]
	switch {
	case flags&XattrCreate != 0 && exists:
		return syscall.EEXIST
	case flags&XattrReplace != 0 && !exists:
		return syscall.ENODATA
	}
	delta := xattrCost(name, value)
	if exists {
		delta -= xattrCost(name, old)
	}
	if err := fs.reserve(delta, 0); err != nil {
		return err
	}
	if n.xattrs == nil {
		n.xattrs = make(map[string][]byte)
	}
	v := make([]byte, len(value))
	copy(v, value)
	n.xattrs[name] = v
	fs.ctimeLocked(n)
	// An inode already released gives its attributes back at once.
	fs.maybeFreeLocked(n)
	return nil
}

// RemoveXattr removes n's attribute name, refunds its bytes and sets
// ctime. Errors: ENODATA (no such attribute), ERANGE (name empty or longer
// than XattrNameMax).
func (fs *FS) RemoveXattr(n *Inode, name string) error {
	if err := checkXattrName(name); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.xattrs[name]
	if !ok {
		return syscall.ENODATA
	}
	delete(n.xattrs, name)
	fs.charge(-xattrCost(name, v), 0)
	fs.ctimeLocked(n)
	return nil
}

// freeXattrsLocked drops all of n's attributes and returns the bytes they
// were charged, for the caller to refund.
//
// Preconditions: n.mu is locked.
func (n *Inode) freeXattrsLocked() int64 {
	var bytes int64
	for name, v := range n.xattrs {
		bytes += xattrCost(name, v)
	}
	n.xattrs = nil
	return bytes
}
