package tarfmt

import (
	"fmt"
	"io"
	"path"
	"strconv"
)

// Writer writes a PAX archive: a ustar header per entry, preceded by a
// PAX extended header when the entry needs one (a name or link target
// longer than 100 bytes or not ASCII, numbers too large for the octal
// fields, times with fractions of a second, an access time, the caller's
// PAX records). The output depends only on the headers and data given.
type Writer struct {
	w      io.Writer
	left   int64 // data bytes the current entry still needs
	pad    int64 // zeros after them, to the block boundary
	err    error // sticky
	closed bool
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteHeader ends the current entry (which must have had all its data)
// and starts the one h describes. Only a regular file has data: h.Size
// of other types is ignored.
func (tw *Writer) WriteHeader(h *Header) error {
	if err := tw.endEntry(); err != nil {
		return err
	}
	var blk block
	recs := map[string]string{}
	for k, v := range h.PAXRecords {
		recs[k] = v
	}
	size := int64(0)
	if h.Typeflag == TypeReg || h.Typeflag == TypeRegA {
		size = h.Size
	}
	if size < 0 || h.Mode < 0 || h.Uid < 0 || h.Gid < 0 {
		return tw.fail(fmt.Errorf("tarfmt: %s: negative size, mode or id", h.Name))
	}
	putString(&blk, fName, h.Name, "path", recs)
	putString(&blk, fLinkname, h.Linkname, "linkpath", recs)
	putNumber(&blk, fSize, size, "size", recs)
	putNumber(&blk, fUid, int64(h.Uid), "uid", recs)
	putNumber(&blk, fGid, int64(h.Gid), "gid", recs)
	mt := h.ModTime.Unix()
	if h.ModTime.Nanosecond() != 0 || !fitsOctal(mt, fMtime.n) {
		recs["mtime"] = formatPAXTime(h.ModTime)
		mt = 0
	}
	formatOctal(blk.get(fMtime), max(mt, 0))
	if !h.AccessTime.IsZero() {
		recs["atime"] = formatPAXTime(h.AccessTime)
	}
	if !formatOctal(blk.get(fMode), h.Mode) || !formatOctal(blk.get(fDevmajor), h.Devmajor) ||
		!formatOctal(blk.get(fDevminor), h.Devminor) {
		return tw.fail(fmt.Errorf("%w: %s: mode or device number", ErrFieldTooLong, h.Name))
	}
	blk[fTypeflag.off] = h.Typeflag
	if h.Typeflag == TypeRegA {
		blk[fTypeflag.off] = TypeReg
	}
	copy(blk.get(fMagic), magicUSTAR)
	copy(blk.get(fVersion), "00")
	if len(recs) > 0 {
		if err := tw.writePAX(h.Name, recs); err != nil {
			return err
		}
	}
	setChecksum(&blk)
	if err := tw.write(blk[:]); err != nil {
		return err
	}
	tw.left, tw.pad = size, -size&(blockSize-1)
	return nil
}

// putString stores s in the field if it fits and is ASCII, else in the
// PAX record key (the field keeps what fits of its ASCII bytes: readers
// take a field with other bytes for a non-POSIX format).
func putString(blk *block, f field, s, key string, recs map[string]string) {
	if len(s) <= f.n && isASCII(s) {
		copy(blk.get(f), s)
		return
	}
	recs[key] = s
	ascii := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != 0 && s[i] < 0x80 {
			ascii = append(ascii, s[i])
		}
	}
	copy(blk.get(f), ascii)
}

// putNumber stores v in the octal field if it fits, else in the PAX
// record key (the field is left zero).
func putNumber(blk *block, f field, v int64, key string, recs map[string]string) {
	if !formatOctal(blk.get(f), v) {
		recs[key] = strconv.FormatInt(v, 10)
		formatOctal(blk.get(f), 0)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func setChecksum(blk *block) {
	sum, _ := blk.checksums()
	// Six octal digits, NUL, space.
	copy(blk.get(fChksum), fmt.Sprintf("%06o\x00 ", sum))
}

// writePAX writes the PAX extended header for the entry name.
func (tw *Writer) writePAX(name string, recs map[string]string) error {
	data, err := formatPAXRecords(recs)
	if err != nil {
		return tw.fail(err)
	}
	var blk block
	xname := "PaxHeaders/" + path.Base(name)
	if len(xname) > fName.n || !isASCII(xname) {
		xname = "PaxHeaders/entry"
	}
	copy(blk.get(fName), xname)
	formatOctal(blk.get(fMode), 0o644)
	formatOctal(blk.get(fUid), 0)
	formatOctal(blk.get(fGid), 0)
	formatOctal(blk.get(fMtime), 0)
	formatOctal(blk.get(fDevmajor), 0)
	formatOctal(blk.get(fDevminor), 0)
	if !formatOctal(blk.get(fSize), int64(len(data))) {
		return tw.fail(fmt.Errorf("%w: PAX records of %s", ErrFieldTooLong, name))
	}
	blk[fTypeflag.off] = TypeXHeader
	copy(blk.get(fMagic), magicUSTAR)
	copy(blk.get(fVersion), "00")
	setChecksum(&blk)
	if err := tw.write(blk[:]); err != nil {
		return err
	}
	if err := tw.write([]byte(data)); err != nil {
		return err
	}
	return tw.write(make([]byte, -len(data)&(blockSize-1)))
}

// Write writes data of the current entry, at most what its Size left.
func (tw *Writer) Write(p []byte) (int, error) {
	if tw.err != nil {
		return 0, tw.err
	}
	tooLong := int64(len(p)) > tw.left
	if tooLong {
		p = p[:tw.left]
	}
	n, err := tw.w.Write(p)
	tw.left -= int64(n)
	if err != nil {
		tw.err = err
		return n, err
	}
	if tooLong {
		return n, ErrWriteTooLong
	}
	return n, nil
}

// endEntry checks the current entry got all its data and pads it.
func (tw *Writer) endEntry() error {
	switch {
	case tw.err != nil:
		return tw.err
	case tw.closed:
		return ErrClosed
	case tw.left > 0:
		return tw.fail(fmt.Errorf("tarfmt: missed writing %d bytes", tw.left))
	}
	err := tw.write(make([]byte, tw.pad))
	tw.pad = 0
	return err
}

// Close ends the last entry and writes the end-of-archive marker (two
// zero blocks). It does not close the underlying writer.
func (tw *Writer) Close() error {
	if tw.closed {
		return nil
	}
	if err := tw.endEntry(); err != nil {
		return err
	}
	tw.closed = true
	return tw.write(make([]byte, 2*blockSize))
}

func (tw *Writer) write(p []byte) error {
	if tw.err != nil {
		return tw.err
	}
	if _, err := tw.w.Write(p); err != nil {
		tw.err = err
	}
	return tw.err
}

func (tw *Writer) fail(err error) error {
	tw.err = err
	return err
}
