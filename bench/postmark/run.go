package postmark

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Result holds the counts and times of one run.
type Result struct {
	// Created counts files created; CreatedAlone those of the initial
	// creation phase, CreatedMixed those created by transactions.
	Created, CreatedAlone, CreatedMixed int
	// Read and Appended count the read and append transactions done.
	Read, Appended int
	// Deleted counts files deleted; DeletedAlone those of the final
	// deletion phase, DeletedMixed those deleted by transactions.
	Deleted, DeletedAlone, DeletedMixed int
	// BytesRead and BytesWritten are exact byte totals.
	BytesRead, BytesWritten int64
	// Transactions is the number of transactions performed: the configured
	// number unless the run ran out of files.
	Transactions int
	// Subdirectories is the number of directories created (and removed).
	Subdirectories int
	// Elapsed runs from the start of file creation to the end of file
	// deletion; CreateTime, TransactionTime and DeleteTime are its phases.
	Elapsed, TransactionTime, CreateTime, DeleteTime time.Duration

	// PostMark accumulates bytes in C floats (single precision); the
	// report prints these so that its figures match PostMark's.
	bytesReadF, bytesWrittenF float32
}

// ErrOutOfFiles is returned (with the partial Result) when every file was
// deleted before the transactions were done; PostMark prints
// "out of files!" and no report in that case.
var ErrOutOfFiles = errors.New("postmark: out of files (increase the number of files or decrease the number of transactions)")

// Run performs one PostMark run on fs with cfg and returns its counts.
// It stops at the first failing FS call and returns an error that wraps
// the FS's error, after a best-effort removal of what it had created.
func Run(fs FS, cfg Config) (Result, error) {
	return RunProgress(fs, cfg, nil)
}

// RunProgress is Run printing PostMark's progress lines to w ("Creating
// files...Done", the transaction dots and so on); w may be nil.
func RunProgress(fs FS, cfg Config, w io.Writer) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	r := &runner{fs: fs, cfg: cfg, progress: w}
	return r.run()
}

type fileEntry struct {
	name string
	size int64 // 0 marks a free slot
}

type runner struct {
	fs       FS
	cfg      Config
	progress io.Writer

	rng       *mt
	source    []byte // random printable text, 2*high bytes
	readBuf   []byte
	table     []fileEntry
	allocated int      // next slot to try, PostMark's file_allocated
	index     []string // location of each unit of weight
	nlocs     int
	dirs      []string // subdirectories created, for removal
	live      int
	phase     int // 0 creating, 1 transactions, 2 deleting
	delBase   int // files deleted before the deletion phase

	res Result
}

func (r *runner) say(s string) {
	if r.progress != nil {
		io.WriteString(r.progress, s)
	}
}

func (r *runner) run() (Result, error) {
	cfg := r.cfg
	r.rng = newMT(uint32(cfg.Seed))

	// The text every write takes its bytes from: drawn first, 2*high bytes.
	r.source = make([]byte, 2*cfg.Size[1])
	for i := range r.source {
		r.source[i] = byte(32 + r.rng.rnd(95))
	}
	r.readBuf = make([]byte, cfg.Read)
	r.table = make([]fileEntry, 2*cfg.Number)

	locs := cfg.locations()
	r.nlocs = len(locs)
	for _, l := range locs {
		for range l.Weight {
			r.index = append(r.index, l.Path)
		}
	}

	if cfg.Subdirectories > 1 {
		r.say("Creating subdirectories...")
		bases := []string{""}
		if len(locs) > 0 {
			bases = bases[:0]
			for _, l := range locs {
				bases = append(bases, l.Path+"/")
			}
		}
		for _, b := range bases {
			for i := range cfg.Subdirectories {
				d := b + "s" + strconv.Itoa(i)
				if err := r.fs.Mkdir(d, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
					return r.fail(fmt.Errorf("postmark: mkdir %s: %w", d, err))
				}
				r.dirs = append(r.dirs, d)
			}
		}
		r.res.Subdirectories = len(r.dirs)
		r.say("Done\n")
	}

	start := time.Now()
	r.say("Creating files...")
	for range cfg.Number {
		if err := r.create(); err != nil {
			return r.fail(err)
		}
	}
	r.say("Done\n")

	r.say("Performing transactions")
	r.phase, r.res.CreatedAlone = 1, r.res.Created
	tStart := time.Now()
	percent := cfg.Transactions / 10
	if percent == 0 {
		percent = 1 // PostMark divides by zero here (SIGFPE) below 10 transactions
	}
	outOfFiles := false
	i := 0
	for ; i < cfg.Transactions; i++ {
		if r.res.Created == r.res.Deleted {
			outOfFiles = true
			break
		}
		if err := r.transaction(); err != nil {
			r.res.Transactions = i
			return r.fail(err)
		}
		if i%percent == 0 {
			r.say(".")
		}
	}
	tEnd := time.Now()
	r.res.Transactions = i
	if outOfFiles {
		r.say("out of files!\nFor this workload, either increase the number of files or\ndecrease the number of transactions.\n")
	} else {
		r.say("Done\n")
	}

	r.say("Deleting files...")
	r.phase, r.delBase = 2, r.res.Deleted
	for n := range r.table {
		if err := r.delete(n); err != nil {
			return r.fail(err)
		}
	}
	end := time.Now()
	r.splitCounts()
	r.say("Done\n")

	if len(r.dirs) > 0 {
		r.say("Deleting subdirectories...")
		for _, d := range r.dirs {
			if err := r.fs.Rmdir(d); err != nil {
				return r.fail(fmt.Errorf("postmark: rmdir %s: %w", d, err))
			}
		}
		r.dirs = nil
		r.say("Done\n")
	}

	r.res.Elapsed = end.Sub(start)
	r.res.CreateTime = tStart.Sub(start)
	r.res.TransactionTime = tEnd.Sub(tStart)
	r.res.DeleteTime = end.Sub(tEnd)
	if outOfFiles {
		return r.res, ErrOutOfFiles
	}
	return r.res, nil
}

// fail removes, best effort, every file and directory the run made, and
// returns the partial result with err.
func (r *runner) fail(err error) (Result, error) {
	for n := range r.table {
		if r.table[n].size != 0 {
			r.fs.Unlink(r.table[n].name)
			r.table[n].size = 0
		}
	}
	for _, d := range r.dirs {
		r.fs.Rmdir(d)
	}
	r.dirs = nil
	r.splitCounts()
	return r.res, err
}

// splitCounts divides creations and deletions between the phases so far.
func (r *runner) splitCounts() {
	res := &r.res
	switch r.phase {
	case 0:
		res.CreatedAlone, res.CreatedMixed = res.Created, 0
		res.DeletedAlone, res.DeletedMixed = 0, 0
	case 1:
		res.CreatedMixed = res.Created - res.CreatedAlone
		res.DeletedAlone, res.DeletedMixed = 0, res.Deleted
	case 2:
		res.CreatedMixed = res.Created - res.CreatedAlone
		res.DeletedAlone, res.DeletedMixed = res.Deleted-r.delBase, r.delBase
	}
}

// transaction is one PostMark transaction: a read or an append of a file
// in use, then a create or a delete. The order of random draws is
// PostMark's: the read/append choice, then the file; the create/delete
// choice, then (for a delete) the file.
func (r *runner) transaction() error {
	if r.cfg.BiasRead != -1 {
		if r.rng.rnd(10) < int64(r.cfg.BiasRead) {
			if err := r.read(r.findUsed()); err != nil {
				return err
			}
		} else if err := r.appendTo(r.findUsed()); err != nil {
			return err
		}
	}
	if r.cfg.BiasCreate != -1 {
		if r.rng.rnd(10) < int64(r.cfg.BiasCreate) {
			return r.create()
		}
		return r.delete(r.findUsed())
	}
	return nil
}

// findFree returns a free slot: the next one if free, else the first free
// one from the start of the table, else -1.
func (r *runner) findFree() int {
	if r.allocated < len(r.table) && r.table[r.allocated].size == 0 {
		r.allocated++
		return r.allocated - 1
	}
	for i := range r.table {
		if r.table[i].size == 0 {
			r.allocated = i + 1
			return i
		}
	}
	return -1
}

// findUsed draws slots until one holds a file.
func (r *runner) findUsed() int {
	if r.live == 0 {
		panic("postmark: no file in use") // the caller's checks rule this out
	}
	for {
		n := int(r.rng.rnd(int64(len(r.table))))
		if r.table[n].size != 0 {
			return n
		}
	}
}

// fileName draws the location (only with more than one), the
// subdirectory (only with more than one), and numbers the file.
func (r *runner) fileName() string {
	name := ""
	if len(r.index) > 0 {
		k := 0
		if r.nlocs > 1 {
			k = int(r.rng.rnd(int64(len(r.index))))
		}
		name = r.index[k] + "/"
	}
	if r.cfg.Subdirectories > 1 {
		name += "s" + strconv.FormatInt(r.rng.rnd(int64(r.cfg.Subdirectories)), 10) + "/"
	}
	r.res.Created++
	return name + strconv.Itoa(r.res.Created)
}

func (r *runner) create() error {
	n := r.findFree()
	if n < 0 {
		return nil // table full: PostMark silently creates nothing
	}
	e := &r.table[n]
	e.name = r.fileName()
	e.size = r.cfg.Size[0] + r.rng.rnd(r.cfg.Size[1]-r.cfg.Size[0])
	r.live++
	if r.cfg.Buffering {
		s, err := fopen(r.fs, e.name, 'w')
		if err != nil {
			return fmt.Errorf("postmark: create %s: %w", e.name, err)
		}
		if err := r.fwriteBlocks(s, e.size); err != nil {
			return fmt.Errorf("postmark: create %s: %w", e.name, err)
		}
		return nil
	}
	fd, err := r.fs.Open(e.name, unix.O_RDWR|unix.O_CREAT, 0o644)
	if err != nil {
		return fmt.Errorf("postmark: create %s: %w", e.name, err)
	}
	if err := r.writeBlocks(fd, e.size); err != nil {
		return fmt.Errorf("postmark: create %s: %w", e.name, err)
	}
	return nil
}

// writeBlocks writes size bytes from the start of the source text in
// write-block pieces, then the remainder (a zero-length write when there
// is none, as PostMark does), and closes.
func (r *runner) writeBlocks(fd int, size int64) error {
	bs := int64(r.cfg.Write)
	off := int64(0)
	i := size
	var err error
	for ; i >= bs && err == nil; i, off = i-bs, off+bs {
		err = r.write1(fd, r.source[off:off+bs])
	}
	if err == nil {
		err = r.write1(fd, r.source[off:off+i])
	}
	cerr := r.fs.Close(fd)
	if err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	r.wrote(size)
	return nil
}

func (r *runner) write1(fd int, p []byte) error {
	n, err := r.fs.Write(fd, p)
	if err != nil {
		return err
	}
	if n != len(p) {
		return io.ErrShortWrite
	}
	return nil
}

func (r *runner) fwriteBlocks(s *stream, size int64) error {
	bs := int64(r.cfg.Write)
	off := int64(0)
	i := size
	var err error
	for ; i >= bs && err == nil; i, off = i-bs, off+bs {
		err = s.fwrite(r.source[off : off+bs])
	}
	if err == nil {
		err = s.fwrite(r.source[off : off+i])
	}
	cerr := s.fclose()
	if err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	r.wrote(size)
	return nil
}

func (r *runner) wrote(n int64) {
	r.res.BytesWritten += n
	r.res.bytesWrittenF += float32(n)
}

func (r *runner) delete(n int) error {
	e := &r.table[n]
	if e.size == 0 {
		return nil
	}
	if err := r.fs.Unlink(e.name); err != nil {
		return fmt.Errorf("postmark: delete %s: %w", e.name, err)
	}
	e.size = 0
	r.live--
	r.res.Deleted++
	return nil
}

// read reads the whole file in read-block pieces, then the remainder.
func (r *runner) read(n int) error {
	e := &r.table[n]
	bs := int64(r.cfg.Read)
	var err error
	if r.cfg.Buffering {
		var s *stream
		if s, err = fopen(r.fs, e.name, 'r'); err == nil {
			i := e.size
			for ; i >= bs && err == nil; i -= bs {
				err = s.fread(r.readBuf)
			}
			if err == nil {
				err = s.fread(r.readBuf[:i])
			}
			if cerr := s.fclose(); err == nil {
				err = cerr
			}
		}
	} else {
		var fd int
		if fd, err = r.fs.Open(e.name, unix.O_RDONLY, 0o644); err == nil {
			i := e.size
			for ; i >= bs && err == nil; i -= bs {
				err = r.read1(fd, r.readBuf)
			}
			if err == nil {
				err = r.read1(fd, r.readBuf[:i])
			}
			if cerr := r.fs.Close(fd); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		return fmt.Errorf("postmark: read %s: %w", e.name, err)
	}
	r.res.BytesRead += e.size
	r.res.bytesReadF += float32(e.size)
	r.res.Read++
	return nil
}

// read1 is one read that must return all it asked for: the file has
// exactly the size PostMark wrote, so less means the FS lost data.
func (r *runner) read1(fd int, p []byte) error {
	n, err := r.fs.Read(fd, p)
	if err != nil {
		return err
	}
	if n != len(p) {
		return fmt.Errorf("short read: %d of %d bytes: %w", n, len(p), io.ErrUnexpectedEOF)
	}
	return nil
}

// appendTo appends a random amount, up to the high size bound, to a file
// not yet at it; a file at the bound is left alone (and not counted).
func (r *runner) appendTo(n int) error {
	e := &r.table[n]
	high := r.cfg.Size[1]
	if e.size >= high {
		return nil
	}
	var err error
	if r.cfg.Buffering {
		var s *stream
		if s, err = fopen(r.fs, e.name, 'a'); err == nil {
			block := r.rng.rnd(high-e.size) + 1
			if err = r.fwriteBlocks(s, block); err == nil {
				e.size += block
			}
		}
	} else {
		var fd int
		if fd, err = r.fs.Open(e.name, unix.O_RDWR|unix.O_APPEND, 0o644); err == nil {
			block := r.rng.rnd(high-e.size) + 1
			if err = r.writeBlocks(fd, block); err == nil {
				e.size += block
			}
		}
	}
	if err != nil {
		return fmt.Errorf("postmark: append %s: %w", e.name, err)
	}
	r.res.Appended++
	return nil
}
