package persist

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Extended attributes.
//
// A tar archive keeps every attribute of every entry as a PAX record
// SCHILY.xattr.NAME (the form GNU tar, bsdtar and Go's archive/tar
// understand), except names containing '=', which a PAX record cannot
// hold. A host directory keeps what the host lets lsetxattr set: user.*
// on regular files and directories wherever the host file system has user
// attributes; trusted.* only as root; security.* subject to the host's
// security modules (security.capability as root). An attribute the host
// or the archive cannot take does not stop the save: the rest of the tree,
// every file's data included, is saved, and the save returns an
// *XattrError naming what was left out.
//
// Loading keeps the attributes of the user., trusted. and security.
// namespaces (those tmpfs, and so fsshim, serves), from SCHILY.xattr
// records of an archive or from llistxattr of a host directory (see
// hostcopy).

// xattr is one extended attribute of an entry.
type xattr struct {
	name  string
	value []byte
}

// readXattrs returns the attributes of e in name order. One removed
// between the listing and the read is left out.
func readXattrs(src source, e *entry) ([]xattr, error) {
	var out []xattr
	for _, name := range src.ListXattr(e.n) {
		v, err := src.GetXattr(e.n, name)
		if errors.Is(err, syscall.ENODATA) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: getxattr %s: %w", e.rel, name, err)
		}
		out = append(out, xattr{name, v})
	}
	return out, nil
}

// SkippedXattr is one attribute a save could not keep.
type SkippedXattr struct {
	Path string // slash-separated, relative to the saved root
	Name string
	Err  error
}

// XattrError is returned by SaveDir and SaveTar when the save succeeded —
// the new copy is in place, with all data — but some extended attributes
// could not be kept: the host refused them (lsetxattr failed: trusted.*
// when not root, a file system without xattr support, a value larger than
// the host stores...) or a tar cannot hold the name.
type XattrError struct {
	Dest    string
	Skipped []SkippedXattr
}

func (e *XattrError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "persist: saved %s, but %d extended attribute(s) were not kept:", e.Dest, len(e.Skipped))
	const show = 5
	for i, s := range e.Skipped {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(e.Skipped)-show)
			break
		}
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s %s (%v)", s.Path, s.Name, s.Err)
	}
	return b.String()
}

// errXattrName: a PAX record key cannot hold '='.
var errXattrName = errors.New("a tar PAX record cannot hold a name with '='")
