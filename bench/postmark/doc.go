// Package postmark is a Go reimplementation of NetApp's PostMark 1.51
// file-system benchmark (as Debian ships it), written against a small FS
// interface so the same workload can run on the host kernel (Raw), under
// fsshim's transports, or on any other implementation.
//
// # Fidelity
//
// For a given configuration a run performs the same operations as Debian's
// /usr/bin/postmark: same file names, sizes, append lengths, choice of
// files and transactions, so every count in the report (files created,
// read, appended, deleted, alone and mixed; bytes read and written) is
// equal. The tests check this against the binary, and where strace is
// installed they check that the two make the identical sequence of file
// system calls.
//
// That rests on reproducing PostMark's random sequence exactly:
//
//   - The generator is MT19937 (the 1999 "genrand" release), seeded by the
//     old sgenrand (Knuth's 69069 LCG), not init_genrand. Each run reseeds
//     with the configured seed (default 42).
//   - RND(x) is genrand() % x for x > 0 and 0 without a draw otherwise, so a
//     fixed file size (low == high) draws nothing for sizes.
//   - Draw order: 2*high draws fill the source text (32 + RND(95) each);
//     then for each created file: the location (RND(total weight), only
//     with more than one location), the subdirectory (RND(n), only with
//     n > 1), the size (low + RND(high-low)). Per transaction: RND(10)
//     against the read bias, then the file (RND(2*number) until a slot in
//     use), then for an append RND(high-size)+1 (only if size < high);
//     then RND(10) against the create bias, and for a delete the file.
//     A bias of -1 skips that half of the transaction and its draws.
//   - Slots are taken as PostMark's find_free_file takes them (the next
//     slot if free, else the first free slot), which decides later picks.
//   - The final deletion walks the table in slot order.
//
// # Buffering
//
// `set buffering false` makes one read or write call per block (plus
// PostMark's zero-length call for an empty remainder). With buffering on
// (PostMark's default) Run emulates glibc stdio: fopen's open flags, an
// lseek to the end for append, an optional fstat (see Fstater) to size
// the buffer, writes and reads coalesced as _IO_file_xsputn and
// _IO_file_xsgetn do. Buffering never changes the counts, which are kept
// per logical block; it only changes the calls the FS sees, and those
// match the C program's.
//
// # Differences from PostMark 1.51
//
//   - Times come from the monotonic clock and are printed in seconds with
//     microsecond resolution; rates use those times (PostMark uses whole
//     seconds, at least 1).
//   - Run stops at the first failing call and returns it (PostMark prints
//     an error and carries on), after removing what it created.
//   - Fewer than 10 transactions work (PostMark 1.51 divides by zero).
//   - The terse report's ninth number is deletions per second (PostMark
//     prints creations per second there; after a complete run the two are
//     equal).
//   - The CLI has no shell escape ("!cmd"), and prints errors to stdout.
package postmark
