// Package tarfmt reads and writes tar archives in the POSIX.1-2001 (PAX)
// format, and reads the ustar, GNU and V7 archives other tools make,
// including GNU long names and PAX sparse files (formats 0.0, 0.1, 1.0).
//
// persist uses it in place of archive/tar, which imports os/user (to look
// up owner names) and with it cgo: fsshim is meant to be a static binary.
// Owner names are neither written nor looked up here; an archive carries
// numeric ids only.
package tarfmt

import (
	"errors"
	"time"
)

// Entry types (Header.Typeflag).
const (
	TypeReg           = '0'
	TypeRegA          = '\x00' // old archives' regular file
	TypeLink          = '1'
	TypeSymlink       = '2'
	TypeChar          = '3'
	TypeBlock         = '4'
	TypeDir           = '5'
	TypeFifo          = '6'
	TypeCont          = '7' // contiguous file, read as a regular one
	TypeXHeader       = 'x' // PAX records for the next entry
	TypeXGlobalHeader = 'g' // PAX records for the whole archive
	TypeGNULongName   = 'L'
	TypeGNULongLink   = 'K'
	TypeGNUSparse     = 'S' // old GNU sparse file, returned as it is
)

// Header is one entry of an archive.
type Header struct {
	Typeflag   byte
	Name       string
	Linkname   string
	Size       int64 // of the data (for a sparse file, with the holes)
	Mode       int64 // permission bits and set-id, sticky bits
	Uid, Gid   int
	ModTime    time.Time
	AccessTime time.Time // zero: none recorded
	Devmajor   int64
	Devminor   int64
	// PAXRecords are the entry's PAX records (SCHILY.xattr.NAME for
	// extended attributes, for example). The Writer writes them beside
	// the records it needs itself; the Reader returns every record read.
	PAXRecords map[string]string
}

// Errors of the Reader and Writer.
var (
	ErrHeader       = errors.New("tarfmt: invalid tar header")
	ErrWriteTooLong = errors.New("tarfmt: write too long")
	ErrFieldTooLong = errors.New("tarfmt: header field too long")
	ErrClosed       = errors.New("tarfmt: writer closed")
)

const blockSize = 512

// Offsets and lengths of the header fields (ustar; GNU and star differ
// after the device numbers).
type field struct{ off, n int }

var (
	fName     = field{0, 100}
	fMode     = field{100, 8}
	fUid      = field{108, 8}
	fGid      = field{116, 8}
	fSize     = field{124, 12}
	fMtime    = field{136, 12}
	fChksum   = field{148, 8}
	fTypeflag = field{156, 1}
	fLinkname = field{157, 100}
	fMagic    = field{257, 6}
	fVersion  = field{263, 2}
	fDevmajor = field{329, 8}
	fDevminor = field{337, 8}
	fPrefix   = field{345, 155}
	// GNU: access time where ustar has its prefix, and the old sparse
	// map.
	fGNUAtime      = field{345, 12}
	fGNUSparseExt  = field{482, 1}
	fStarPrefix    = field{345, 131}
	fStarAtime     = field{476, 12}
	fStarTrailer   = field{508, 4}
	fSparseExtFlag = field{504, 1} // in a GNU sparse extension block
)

const (
	magicUSTAR = "ustar\x00"
	magicGNU   = "ustar "
)

type block [blockSize]byte

func (b *block) get(f field) []byte { return b[f.off : f.off+f.n] }

// checksums returns the sum of the block's bytes with the checksum field
// taken as spaces, unsigned (as POSIX says) and signed (as some old tars
// computed it).
func (b *block) checksums() (unsigned, signed int64) {
	for i, c := range b {
		if i >= fChksum.off && i < fChksum.off+fChksum.n {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return unsigned, signed
}

func (b *block) isZero() bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
