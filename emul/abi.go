package emul

import (
	"encoding/binary"
	"syscall"
	"time"

	"fsshim/ramfs"
)

// Linux x86-64 ABI layouts, written field by field (no unsafe): struct stat,
// struct statx, struct statfs, struct linux_dirent64 and linux_dirent.

const (
	atFDCWD           = -100
	atSymlinkNofollow = 0x100
	atRemovedir       = 0x200
	atSymlinkFollow   = 0x400
	atNoAutomount     = 0x800
	atEmptyPath       = 0x1000
	atEaccess         = 0x200
	atStatxSyncType   = 0x6000

	utimeNow  = (1 << 30) - 1
	utimeOmit = (1 << 30) - 2

	tmpfsMagic = 0x01021994
	maxRW      = 0x7ffff000 // MAX_RW_COUNT

	oLargefile = 0x8000
)

var le = binary.LittleEndian

// devOf is the st_dev of a mount: major 0 (anonymous, as tmpfs), a minor
// per mount, in the kernel's new_encode_dev form.
func (k *Kernel) devOf(m *Mount) (major, minor uint32) {
	for i, x := range k.mounts {
		if x == m {
			return 0, uint32(200 + i)
		}
	}
	return 0, 199
}

func encodeDev(major, minor uint32) uint64 {
	return uint64(minor&0xff) | uint64(major&0xfff)<<8 | uint64(minor&^0xff)<<12
}

func putTime(b []byte, t time.Time) {
	le.PutUint64(b, uint64(t.Unix()))
	le.PutUint64(b[8:], uint64(t.Nanosecond()))
}

// encodeStat fills a 144-byte struct stat for a file on device maj:mnr.
func (k *Kernel) encodeStat(b []byte, maj, mnr uint32, a ramfs.Attr) {
	clear(b)
	le.PutUint64(b[0:], encodeDev(maj, mnr))
	le.PutUint64(b[8:], a.Ino)
	le.PutUint64(b[16:], uint64(a.Nlink))
	le.PutUint32(b[24:], a.Mode)
	le.PutUint32(b[28:], a.Uid)
	le.PutUint32(b[32:], a.Gid)
	le.PutUint64(b[40:], a.Rdev)
	le.PutUint64(b[48:], uint64(a.Size))
	le.PutUint64(b[56:], uint64(a.Blksize))
	le.PutUint64(b[64:], uint64(a.Blocks))
	putTime(b[72:], a.Atime)
	putTime(b[88:], a.Mtime)
	putTime(b[104:], a.Ctime)
}

const sizeofStat = 144
const sizeofStatx = 256
const sizeofStatfs = 120

const (
	statxBasic = 0x7ff
	statxBtime = 0x800
	statxMntID = 0x1000

	statxMntIDUnique = 0x4000
	statxMtime       = 0x40
	statxCtime       = 0x80
)

func putStatxTime(b []byte, t time.Time) {
	le.PutUint64(b, uint64(t.Unix()))
	le.PutUint32(b[8:], uint32(t.Nanosecond()))
}

// encodeStatx fills a 256-byte struct statx for a file of mount m on
// device maj:mnr (the mount's own, but for an overlay's lower files).
// The mask follows shmem_getattr and vfs_statx: the basic fields and a
// mount id always, the birth time and the unique mount id when asked for.
func (k *Kernel) encodeStatx(b []byte, m *Mount, maj, mnr uint32, a ramfs.Attr, want uint32) {
	clear(b)
	_, mntMinor := k.devOf(m)
	mask := uint32(statxBasic)
	if want&statxBtime != 0 {
		mask |= statxBtime
	}
	// Multigrain timestamps (tmpfs): mtime and ctime are reported only
	// when one of them is asked for (fill_mg_cmtime).
	cmtime := want&(statxMtime|statxCtime) != 0
	if !cmtime {
		mask &^= statxMtime | statxCtime
	}
	if want&statxMntIDUnique != 0 {
		mask |= statxMntIDUnique
	} else {
		mask |= statxMntID
	}
	le.PutUint32(b[0:], mask)
	le.PutUint32(b[4:], uint32(a.Blksize))
	le.PutUint32(b[16:], a.Nlink)
	le.PutUint32(b[20:], a.Uid)
	le.PutUint32(b[24:], a.Gid)
	le.PutUint16(b[28:], uint16(a.Mode))
	le.PutUint64(b[32:], a.Ino)
	le.PutUint64(b[40:], uint64(a.Size))
	le.PutUint64(b[48:], uint64(a.Blocks))
	putStatxTime(b[64:], a.Atime)
	if mask&statxBtime != 0 {
		putStatxTime(b[80:], a.Btime)
	}
	if cmtime {
		putStatxTime(b[96:], a.Ctime)
		putStatxTime(b[112:], a.Mtime)
	}
	rmaj := uint32((a.Rdev >> 8) & 0xfff)
	rmin := uint32(a.Rdev&0xff) | uint32((a.Rdev>>12)&^0xff)
	le.PutUint32(b[128:], rmaj)
	le.PutUint32(b[132:], rmin)
	le.PutUint32(b[136:], maj)
	le.PutUint32(b[140:], mnr)
	le.PutUint64(b[144:], uint64(1000+mntMinor))
}

// encodeStatfs fills a 120-byte struct statfs.
func (k *Kernel) encodeStatfs(b []byte, m *Mount) {
	clear(b)
	s := m.FS.Statfs()
	_, mnr := k.devOf(m)
	le.PutUint64(b[0:], tmpfsMagic)
	le.PutUint64(b[8:], uint64(s.Bsize))
	le.PutUint64(b[16:], s.Blocks)
	le.PutUint64(b[24:], s.Bfree)
	le.PutUint64(b[32:], s.Bfree)
	le.PutUint64(b[40:], s.Files)
	le.PutUint64(b[48:], s.Ffree)
	le.PutUint32(b[56:], mnr)
	le.PutUint64(b[64:], uint64(s.Namelen))
	le.PutUint64(b[72:], uint64(s.Bsize))
	le.PutUint64(b[80:], 0x20|0x400) // ST_VALID | ST_RELATIME
}

func align8(n int) int { return (n + 7) &^ 7 }

// putDirent64 appends one linux_dirent64 to b if it fits.
func putDirent64(b []byte, ino uint64, off int64, typ uint8, name string) int {
	reclen := align8(19 + len(name) + 1)
	if reclen > len(b) {
		return 0
	}
	clear(b[:reclen])
	le.PutUint64(b[0:], ino)
	le.PutUint64(b[8:], uint64(off))
	le.PutUint16(b[16:], uint16(reclen))
	b[18] = typ
	copy(b[19:], name)
	return reclen
}

// putDirent appends one (old) linux_dirent: the type is the last byte.
func putDirent(b []byte, ino uint64, off int64, typ uint8, name string) int {
	reclen := align8(18 + len(name) + 2)
	if reclen > len(b) {
		return 0
	}
	clear(b[:reclen])
	le.PutUint64(b[0:], ino)
	le.PutUint64(b[8:], uint64(off))
	le.PutUint16(b[16:], uint16(reclen))
	copy(b[18:], name)
	b[reclen-1] = typ
	return reclen
}

// Errno turns any error into the errno to return: syscall.Errno values
// pass through, anything else becomes EIO.
func Errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
