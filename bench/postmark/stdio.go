package postmark

import (
	"io"

	"golang.org/x/sys/unix"
)

// stream emulates the part of glibc's stdio that PostMark's buffered mode
// uses (fopen "w"/"r"/"a", fwrite, fread, fclose on a fully buffered
// stream), so that with `set buffering true` the Go run hands the FS the
// same sequence of calls as the C program: writes coalesced into
// buffer-sized chunks, requests of a whole buffer or more going straight
// to the file, reads refilling a buffer, an lseek to the end on opening
// for append, the flush at close.
//
// Buffering never changes PostMark's counts: they are kept per logical
// fwrite/fread block, exactly as in unbuffered mode.
type stream struct {
	fs        FS
	fd        int
	buf       []byte // nil until the first I/O allocates it
	size      int    // buffer size once allocated
	pos, end  int    // read: unread data is buf[pos:end]; write: buf[:end] is pending
	eof       bool
	allocated bool
	writing   bool // opened "w" or "a"
}

// stdio's buffer: st_blksize capped at BUFSIZ, or 4096 without Fstater.
const (
	stdioBUFSIZ      = 8192
	stdioDefaultSize = 4096
)

// fopen opens like fopen(path, mode) for mode "w", "r" or "a".
func fopen(fs FS, path string, mode byte) (*stream, error) {
	var flags int
	switch mode {
	case 'w':
		flags = unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC
	case 'a':
		flags = unix.O_WRONLY | unix.O_CREAT | unix.O_APPEND
	default:
		flags = unix.O_RDONLY
	}
	fd, err := fs.Open(path, flags, 0o666)
	if err != nil {
		return nil, err
	}
	s := &stream{fs: fs, fd: fd, writing: mode != 'r'}
	if mode == 'a' {
		if _, err := fs.Lseek(fd, 0, io.SeekEnd); err != nil {
			fs.Close(fd)
			return nil, err
		}
	}
	return s, nil
}

// alloc sizes and allocates the buffer as _IO_file_doallocate does.
func (s *stream) alloc() error {
	s.allocated = true
	s.size = stdioDefaultSize
	if f, ok := s.fs.(Fstater); ok {
		var st unix.Stat_t
		if err := f.Fstat(s.fd, &st); err != nil {
			return err
		}
		s.size = stdioBUFSIZ
		if st.Blksize > 0 && st.Blksize < stdioBUFSIZ {
			s.size = int(st.Blksize)
		}
	}
	s.buf = make([]byte, s.size)
	return nil
}

// writeAll writes p completely, as stdio's internal write loop does.
func (s *stream) writeAll(p []byte) error {
	for len(p) > 0 {
		n, err := s.fs.Write(s.fd, p)
		if err != nil {
			return err
		}
		if n <= 0 {
			return io.ErrShortWrite
		}
		p = p[n:]
	}
	return nil
}

// flush writes out pending output.
func (s *stream) flush() error {
	if !s.writing || s.end == 0 {
		return nil
	}
	err := s.writeAll(s.buf[:s.end])
	s.end = 0
	return err
}

// fwrite follows _IO_new_file_xsputn for a fully buffered stream: fill the
// space left in the buffer; if data remains, flush (the first time this
// allocates the buffer instead), write the largest whole number of
// buffers directly, and buffer the rest.
func (s *stream) fwrite(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if s.allocated {
		k := copy(s.buf[s.end:], p)
		s.end += k
		p = p[k:]
	}
	if len(p) == 0 {
		return nil
	}
	if !s.allocated {
		if err := s.alloc(); err != nil {
			return err
		}
	} else if err := s.flush(); err != nil {
		return err
	}
	direct := len(p)
	if s.size >= 128 {
		direct -= len(p) % s.size
	}
	if direct > 0 {
		if err := s.writeAll(p[:direct]); err != nil {
			return err
		}
		p = p[direct:]
	}
	s.end += copy(s.buf[s.end:], p)
	return nil
}

// fread follows _IO_file_xsgetn: serve from the buffer; when more is
// wanted, refill the buffer if less than a buffer is wanted, else read
// the largest whole number of buffers straight into p. It reports
// io.ErrUnexpectedEOF if the file ends first.
func (s *stream) fread(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if !s.allocated {
		if err := s.alloc(); err != nil {
			return err
		}
	}
	for len(p) > 0 {
		k := copy(p, s.buf[s.pos:s.end])
		s.pos += k
		p = p[k:]
		if len(p) == 0 {
			break
		}
		if s.eof {
			return io.ErrUnexpectedEOF
		}
		if len(p) < s.size {
			n, err := s.fs.Read(s.fd, s.buf)
			if err != nil {
				return err
			}
			if n <= 0 {
				s.eof = true
				continue
			}
			s.pos, s.end = 0, n
			continue
		}
		s.pos, s.end = 0, 0
		count := len(p)
		if s.size >= 128 {
			count -= len(p) % s.size
		}
		n, err := s.fs.Read(s.fd, p[:count])
		if err != nil {
			return err
		}
		if n <= 0 {
			s.eof = true
			continue
		}
		p = p[n:]
	}
	return nil
}

// fclose flushes pending output and closes; the descriptor is closed even
// if the flush fails, and the first error is returned.
func (s *stream) fclose() error {
	err := s.flush()
	if cerr := s.fs.Close(s.fd); err == nil {
		err = cerr
	}
	return err
}
