package tarfmt

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// frag is one data fragment of a sparse file: length bytes at offset;
// the rest of the file is holes.
type frag struct{ off, n int64 }

// sparse sets up the reading of a PAX sparse file (GNU formats 0.0, 0.1
// and 1.0), if h is one: the data then reads with its holes as zeros,
// h.Size is the file's size and h.Name its real name.
func (tr *Reader) sparse(h *Header, p pax) error {
	major, minor := p.recs["GNU.sparse.major"], p.recs["GNU.sparse.minor"]
	var frags []frag
	var err error
	switch {
	case major == "1" && minor == "0":
		frags, err = tr.sparseMap1()
	case p.recs["GNU.sparse.map"] != "" || (major == "0" && minor == "1"):
		frags, err = sparseMap01(p.recs["GNU.sparse.map"])
	case len(p.sparse0) > 0:
		if len(p.sparse0)%2 != 0 {
			return fmt.Errorf("%w: GNU sparse 0.0 offset without a size", ErrHeader)
		}
		for i := 0; i < len(p.sparse0); i += 2 {
			frags = append(frags, frag{p.sparse0[i], p.sparse0[i+1]})
		}
	case major != "" || minor != "":
		return fmt.Errorf("%w: GNU sparse format %s.%s", ErrHeader, major, minor)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	size := p.recs["GNU.sparse.realsize"]
	if size == "" {
		size = p.recs["GNU.sparse.size"]
	}
	if h.Size, err = strconv.ParseInt(size, 10, 64); err != nil || h.Size < 0 {
		return fmt.Errorf("%w: sparse file size %q", ErrHeader, size)
	}
	if name := p.recs["GNU.sparse.name"]; name != "" {
		h.Name = name
	}
	end := int64(0)
	for _, f := range frags {
		if f.off < end || f.n < 0 || f.off+f.n < f.off || f.off+f.n > h.Size {
			return fmt.Errorf("%w: bad sparse map", ErrHeader)
		}
		end = f.off + f.n
	}
	tr.data = &sparseReader{phys: tr.phys, frags: frags, size: h.Size}
	return nil
}

// sparseMap01 reads the map of format 0.1: "OFFSET,SIZE,OFFSET,SIZE...".
func sparseMap01(s string) ([]frag, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts)%2 != 0 {
		return nil, fmt.Errorf("%w: odd GNU.sparse.map", ErrHeader)
	}
	var frags []frag
	for i := 0; i < len(parts); i += 2 {
		off, err1 := strconv.ParseInt(parts[i], 10, 64)
		n, err2 := strconv.ParseInt(parts[i+1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: bad GNU.sparse.map", ErrHeader)
		}
		frags = append(frags, frag{off, n})
	}
	return frags, nil
}

// sparseMap1 reads the map of format 1.0 from the start of the entry's
// data: decimal numbers, one a line (the count, then offset and size of
// each fragment), padded to whole blocks.
func (tr *Reader) sparseMap1() ([]frag, error) {
	var buf []byte
	next := func() (int64, error) {
		for {
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				v, err := strconv.ParseInt(string(buf[:i]), 10, 64)
				buf = buf[i+1:]
				if err != nil || v < 0 {
					return 0, fmt.Errorf("%w: bad GNU sparse 1.0 map", ErrHeader)
				}
				return v, nil
			}
			if len(buf) > 64 {
				return 0, fmt.Errorf("%w: bad GNU sparse 1.0 map", ErrHeader)
			}
			var blk block
			if _, err := io.ReadFull(tr.phys, blk[:]); err != nil {
				return 0, unexpected(err)
			}
			buf = append(buf, blk[:]...)
		}
	}
	count, err := next()
	if err != nil {
		return nil, err
	}
	var frags []frag
	for range count {
		off, err := next()
		if err != nil {
			return nil, err
		}
		n, err := next()
		if err != nil {
			return nil, err
		}
		frags = append(frags, frag{off, n})
	}
	return frags, nil
}

// sparseReader reads a sparse file: zeros in the holes, the fragments
// from the archived data in turn.
type sparseReader struct {
	phys  *io.LimitedReader
	frags []frag
	size  int64
	pos   int64
}

func (s *sparseReader) Read(p []byte) (int, error) {
	for len(s.frags) > 0 && s.frags[0].off+s.frags[0].n <= s.pos {
		s.frags = s.frags[1:]
	}
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-s.pos {
		p = p[:s.size-s.pos]
	}
	if len(s.frags) == 0 || s.pos < s.frags[0].off {
		end := s.size
		if len(s.frags) > 0 {
			end = s.frags[0].off
		}
		n := min(int64(len(p)), end-s.pos)
		clear(p[:n])
		s.pos += n
		return int(n), nil
	}
	f := s.frags[0]
	n, err := s.phys.Read(p[:min(int64(len(p)), f.off+f.n-s.pos)])
	s.pos += int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
