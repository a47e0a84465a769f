package tarfmt

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Reader reads an archive entry by entry.
type Reader struct {
	r    io.Reader
	phys *io.LimitedReader // the current entry's data as archived
	pad  int64             // zeros after it, to the block boundary
	data io.Reader         // the data as read: phys, or holes and phys
	err  error             // sticky
}

// NewReader returns a Reader of the archive in r.
func NewReader(r io.Reader) *Reader {
	tr := &Reader{r: r}
	tr.startEntry(0)
	return tr
}

// startEntry makes the next size bytes of the archive, and their padding,
// the current entry's data.
func (tr *Reader) startEntry(size int64) {
	tr.phys = &io.LimitedReader{R: tr.r, N: size}
	tr.pad = -size & (blockSize - 1)
	tr.data = tr.phys
}

// Next skips what is left of the current entry and returns the next
// one's header; io.EOF at the end of the archive. The PAX, GNU long-name
// and GNU sparse headers that precede an entry are applied to it, not
// returned; a PAX global header is returned as an entry of its own
// (Typeflag TypeXGlobalHeader, its records in PAXRecords).
func (tr *Reader) Next() (*Header, error) {
	if tr.err != nil {
		return nil, tr.err
	}
	h, err := tr.next()
	if err != nil {
		tr.err = err
	}
	return h, err
}

func (tr *Reader) next() (*Header, error) {
	var p pax
	var longName, longLink *string
	for {
		if err := tr.skipRest(); err != nil {
			return nil, err
		}
		blk, err := tr.readHeader()
		if err != nil {
			return nil, err
		}
		h, err := parseHeader(blk)
		if err != nil {
			return nil, err
		}
		if h.Size < 0 {
			return nil, fmt.Errorf("%w: negative size", ErrHeader)
		}
		switch h.Typeflag {
		case TypeXHeader, TypeXGlobalHeader, TypeGNULongName, TypeGNULongLink:
			tr.startEntry(h.Size)
			b, err := tr.readAll(h.Size)
			if err != nil {
				return nil, err
			}
			switch h.Typeflag {
			case TypeXHeader:
				if p, err = parsePAX(string(b)); err != nil {
					return nil, err
				}
			case TypeXGlobalHeader:
				g, err := parsePAX(string(b))
				if err != nil {
					return nil, err
				}
				h.PAXRecords = g.recs
				return h, nil
			case TypeGNULongName:
				s := cstring(b)
				longName = &s
			case TypeGNULongLink:
				s := cstring(b)
				longLink = &s
			}
			continue
		}
		if longName != nil {
			h.Name = *longName
		}
		if longLink != nil {
			h.Linkname = *longLink
		}
		if err := applyPAX(h, p.recs); err != nil {
			return nil, err
		}
		if h.Size < 0 {
			return nil, fmt.Errorf("%w: negative size", ErrHeader)
		}
		switch {
		case h.Typeflag == TypeRegA && strings.HasSuffix(h.Name, "/"):
			h.Typeflag = TypeDir // old archives mark directories so
		case h.Typeflag == TypeRegA, h.Typeflag == TypeCont:
			h.Typeflag = TypeReg
		}
		if h.Typeflag == TypeGNUSparse {
			// Its sparse map continues in extension blocks before the
			// data; the entry is returned as it is.
			if err := tr.skipSparseExtensions(blk); err != nil {
				return nil, err
			}
		}
		switch h.Typeflag {
		case TypeLink, TypeSymlink, TypeChar, TypeBlock, TypeDir, TypeFifo:
			// No data, whatever the size field says (as other readers).
			tr.startEntry(0)
		default:
			tr.startEntry(h.Size)
		}
		if err := tr.sparse(h, p); err != nil {
			return nil, err
		}
		return h, nil
	}
}

// readHeader reads the next header block: io.EOF at the end-of-archive
// marker (a zero block, then another or the end of the input) or at the
// end of the input.
func (tr *Reader) readHeader() (*block, error) {
	var blk block
	if _, err := io.ReadFull(tr.r, blk[:]); err != nil {
		return nil, err // io.EOF only with nothing read
	}
	if !blk.isZero() {
		return &blk, nil
	}
	if _, err := io.ReadFull(tr.r, blk[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, err
	}
	if blk.isZero() {
		return nil, io.EOF
	}
	return nil, fmt.Errorf("%w: a zero block inside the archive", ErrHeader)
}

// parseHeader reads the fields of a ustar, GNU, star or V7 header.
func parseHeader(blk *block) (*Header, error) {
	want, err := parseNumber(blk.get(fChksum))
	if err != nil {
		return nil, err
	}
	if u, s := blk.checksums(); want != u && want != s {
		return nil, fmt.Errorf("%w: bad checksum", ErrHeader)
	}
	h := &Header{
		Typeflag: blk[fTypeflag.off],
		Name:     cstring(blk.get(fName)),
		Linkname: cstring(blk.get(fLinkname)),
	}
	num := func(f field) int64 {
		if err != nil {
			return 0
		}
		var v int64
		v, err = parseNumber(blk.get(f))
		return v
	}
	h.Mode, h.Size = num(fMode), num(fSize)
	h.Uid, h.Gid = int(num(fUid)), int(num(fGid))
	h.ModTime = time.Unix(num(fMtime), 0)
	magic := string(blk.get(fMagic))
	if magic == magicUSTAR || magic == magicGNU {
		h.Devmajor, h.Devminor = num(fDevmajor), num(fDevminor)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case magic == magicGNU:
		if at := blk.get(fGNUAtime); at[0] != 0 {
			t, err := parseNumber(at)
			if err != nil {
				return nil, err
			}
			h.AccessTime = time.Unix(t, 0)
		}
	case magic == magicUSTAR && string(blk.get(fStarTrailer)) == "tar\x00":
		if p := cstring(blk.get(fStarPrefix)); p != "" {
			h.Name = p + "/" + h.Name
		}
		if at := blk.get(fStarAtime); at[0] != 0 {
			t, err := parseNumber(at)
			if err != nil {
				return nil, err
			}
			h.AccessTime = time.Unix(t, 0)
		}
	case magic == magicUSTAR:
		if p := cstring(blk.get(fPrefix)); p != "" {
			h.Name = p + "/" + h.Name
		}
	}
	return h, nil
}

// applyPAX sets the header fields the PAX records give and keeps the
// records in h.PAXRecords.
func applyPAX(h *Header, recs map[string]string) error {
	for k, v := range recs {
		var err error
		switch k {
		case "path":
			h.Name = v
		case "linkpath":
			h.Linkname = v
		case "size":
			h.Size, err = strconv.ParseInt(v, 10, 64)
		case "uid", "gid":
			var id int64
			id, err = strconv.ParseInt(v, 10, 64)
			if k == "uid" {
				h.Uid = int(id)
			} else {
				h.Gid = int(id)
			}
		case "mtime":
			h.ModTime, err = parsePAXTime(v)
		case "atime":
			h.AccessTime, err = parsePAXTime(v)
		}
		if err != nil {
			return fmt.Errorf("%w: PAX record %s=%q", ErrHeader, k, v)
		}
	}
	if len(recs) > 0 {
		h.PAXRecords = recs
	}
	return nil
}

// skipSparseExtensions reads past the extension blocks of an old GNU
// sparse header.
func (tr *Reader) skipSparseExtensions(blk *block) error {
	more := blk[fGNUSparseExt.off] != 0
	for more {
		var ext block
		if _, err := io.ReadFull(tr.r, ext[:]); err != nil {
			return unexpected(err)
		}
		more = ext[fSparseExtFlag.off] != 0
	}
	return nil
}

// Read reads the current entry's data; io.EOF at its end,
// io.ErrUnexpectedEOF when the archive ends first.
func (tr *Reader) Read(p []byte) (int, error) {
	if tr.err != nil {
		return 0, tr.err
	}
	n, err := tr.data.Read(p)
	if err == io.EOF && tr.phys.N > 0 && tr.data == io.Reader(tr.phys) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		tr.err = err
	}
	return n, err
}

// skipRest reads past the rest of the current entry and its padding.
func (tr *Reader) skipRest() error {
	n := tr.phys.N + tr.pad
	tr.phys.N, tr.pad = 0, 0
	if n == 0 {
		return nil
	}
	if _, err := io.CopyN(io.Discard, tr.r, n); err != nil {
		return unexpected(err)
	}
	return nil
}

func (tr *Reader) readAll(n int64) ([]byte, error) {
	if n > 1<<20 {
		return nil, fmt.Errorf("%w: an extended header of %d bytes", ErrHeader, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(tr.data, b); err != nil {
		return nil, unexpected(err)
	}
	return b, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
