/*
 * threads_rw: eight threads, each rewriting its own two files and checking
 * every byte
 *
 *   threads_rw WORKDIR ITERATIONS
 *
 * In each iteration a thread, for each of its files:
 *   - opens it O_RDWR|O_CREAT|O_TRUNC, writes a block with write(), writes
 *     two more with one pwritev() at an offset that may leave a hole,
 *     overwrites part of it after an lseek(), and checks the size with
 *     fstat();
 *   - reopens it O_WRONLY|O_APPEND and appends with write() and writev(),
 *     checking the size again;
 *   - reopens it O_RDONLY, reads it to the end in pieces of varying size
 *     and compares every byte with what it wrote, then preads pieces at
 *     random offsets (some past the end) and compares those.
 * The data of each thread, file and iteration is its own, so a byte from
 * another thread's file, a stale byte or a misplaced write is a mismatch.
 * Offsets and sizes come from a fixed-seed generator per thread, so the
 * output is the same on every run. Meanwhile a ninth thread sends the
 * process SIGUSR1 in a tight loop, so that calls are interrupted while a
 * supervisor answers them.
 *
 * Prints one line per thread and "ok"; every mismatch prints "FAIL: ..."
 * naming the thread, file, iteration and offset, and makes the exit status
 * 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8
#define FILES 2
#define BLOCK 4096
#define MAXSIZE (8 * BLOCK)
#define MAXFAIL 20

static const char *workdir;
static long iterations;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int failures;
static char summary[THREADS][160];

static void fail(const char *format, ...)
{
	va_list ap;
	pthread_mutex_lock(&mu);
	if (failures < MAXFAIL) {
		printf("FAIL: ");
		va_start(ap, format);
		vprintf(format, ap);
		va_end(ap);
		printf("\n");
	}
	failures++;
	pthread_mutex_unlock(&mu);
}

struct th {
	int t;
	uint64_t rng;
	unsigned char want[MAXSIZE];
	unsigned char got[MAXSIZE + BLOCK];
	size_t size; /* of want */
	long long verified;
	long done;
};

static uint64_t next(struct th *s)
{
	uint64_t x = s->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return s->rng = x;
}

static size_t below(struct th *s, size_t n) { return n ? next(s) % n : 0; }

/* gen fills p with n bytes of data unique to thread t, file f, iteration i
 * and the step that writes it: the top three bits are the thread number,
 * never all zero, so a hole (zeros) does not match either. */
static void gen(unsigned char *p, size_t n, int t, int f, long i, int step)
{
	unsigned v = (unsigned)(f * 7 + i * 13 + step * 31);
	for (size_t k = 0; k < n; k++)
		p[k] = (unsigned char)(t << 5 | (1 + (v + k) % 31));
}

/* put records in the model that n bytes p were written at off. */
static void put(struct th *s, size_t off, const unsigned char *p, size_t n)
{
	if (off > s->size)
		memset(s->want + s->size, 0, off - s->size);
	memcpy(s->want + off, p, n);
	if (off + n > s->size)
		s->size = off + n;
}

/* compare reports the first byte where got differs from the model at off. */
static int compare(struct th *s, const char *path, long i, const char *how, size_t off, const unsigned char *got, size_t n,
		   size_t wantn)
{
	size_t m = n < wantn ? n : wantn;
	for (size_t k = 0; k < m; k++)
		if (got[k] != s->want[off + k]) {
			fail("thread %d file %s iteration %ld: %s: byte at offset %zu is 0x%02x, want 0x%02x (a byte of thread %d)", s->t,
			     path, i, how, off + k, got[k], s->want[off + k], got[k] >> 5);
			return 1;
		}
	if (n != wantn) {
		fail("thread %d file %s iteration %ld: %s at offset %zu: %zu bytes, want %zu", s->t, path, i, how, off, n, wantn);
		return 1;
	}
	s->verified += n;
	return 0;
}

static int checksize(struct th *s, int fd, const char *path, long i, const char *when)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		fail("thread %d file %s iteration %ld: fstat %s: %s", s->t, path, i, when, strerror(errno));
		return 1;
	}
	if ((size_t)st.st_size != s->size) {
		fail("thread %d file %s iteration %ld: size %lld %s, want %zu", s->t, path, i, (long long)st.st_size, when, s->size);
		return 1;
	}
	return 0;
}

static int openfd(struct th *s, const char *path, long i, int flags, const char *how)
{
	int fd = open(path, flags, 0644);
	if (fd < 0)
		fail("thread %d file %s iteration %ld: open %s: %s", s->t, path, i, how, strerror(errno));
	else if (fd <= 2) {
		fail("thread %d file %s iteration %ld: open %s returned %d, which was open already", s->t, path, i, how, fd);
		fd = -1;
	}
	return fd;
}

static int fullwrite(struct th *s, const char *path, long i, const char *how, ssize_t r, size_t n)
{
	if (r == (ssize_t)n)
		return 0;
	fail("thread %d file %s iteration %ld: %s returned %zd of %zu: %s", s->t, path, i, how, r, n, r < 0 ? strerror(errno) : "short");
	return 1;
}

static int one(struct th *s, const char *path, int f, long i)
{
	unsigned char a[BLOCK], b1[BLOCK], b2[BLOCK], c[BLOCK], d[BLOCK], e1[BLOCK / 2], e2[BLOCK / 2];
	int bad = 0;
	s->size = 0;

	/* Rewrite: write, pwritev (maybe past the end), lseek + write. */
	int fd = openfd(s, path, i, O_RDWR | O_CREAT | O_TRUNC, "O_RDWR|O_CREAT|O_TRUNC");
	if (fd < 0)
		return 1;
	size_t na = 1 + below(s, BLOCK);
	gen(a, na, s->t, f, i, 1);
	bad |= fullwrite(s, path, i, "write", write(fd, a, na), na);
	put(s, 0, a, na);
	size_t nb1 = 1 + below(s, BLOCK), nb2 = 1 + below(s, BLOCK);
	size_t off = below(s, s->size + BLOCK);
	gen(b1, nb1, s->t, f, i, 2);
	gen(b2, nb2, s->t, f, i, 3);
	struct iovec iov[2] = {{b1, nb1}, {b2, nb2}};
	bad |= fullwrite(s, path, i, "pwritev", pwritev(fd, iov, 2, (off_t)off), nb1 + nb2);
	put(s, off, b1, nb1);
	put(s, off + nb1, b2, nb2);
	size_t nc = 1 + below(s, BLOCK);
	off = below(s, s->size);
	gen(c, nc, s->t, f, i, 4);
	if (lseek(fd, (off_t)off, SEEK_SET) != (off_t)off) {
		fail("thread %d file %s iteration %ld: lseek to %zu: %s", s->t, path, i, off, strerror(errno));
		bad = 1;
	}
	bad |= fullwrite(s, path, i, "write after lseek", write(fd, c, nc), nc);
	put(s, off, c, nc);
	bad |= checksize(s, fd, path, i, "after rewriting");
	close(fd);
	if (bad)
		return 1;

	/* Append: write and writev on an O_APPEND descriptor. */
	fd = openfd(s, path, i, O_WRONLY | O_APPEND, "O_WRONLY|O_APPEND");
	if (fd < 0)
		return 1;
	size_t nd = 1 + below(s, BLOCK);
	gen(d, nd, s->t, f, i, 5);
	bad |= fullwrite(s, path, i, "O_APPEND write", write(fd, d, nd), nd);
	put(s, s->size, d, nd);
	size_t ne1 = 1 + below(s, BLOCK / 2), ne2 = 1 + below(s, BLOCK / 2);
	gen(e1, ne1, s->t, f, i, 6);
	gen(e2, ne2, s->t, f, i, 7);
	struct iovec eiov[2] = {{e1, ne1}, {e2, ne2}};
	bad |= fullwrite(s, path, i, "O_APPEND writev", writev(fd, eiov, 2), ne1 + ne2);
	put(s, s->size, e1, ne1);
	put(s, s->size, e2, ne2);
	bad |= checksize(s, fd, path, i, "after appending");
	close(fd);
	if (bad)
		return 1;

	/* Verify: read to the end in pieces, then pread here and there. */
	fd = openfd(s, path, i, O_RDONLY, "O_RDONLY");
	if (fd < 0)
		return 1;
	bad |= checksize(s, fd, path, i, "before reading");
	size_t total = 0;
	for (;;) {
		size_t want = 1 + below(s, 2 * BLOCK);
		ssize_t r = read(fd, s->got + total, want);
		if (r < 0) {
			fail("thread %d file %s iteration %ld: read at offset %zu: %s", s->t, path, i, total, strerror(errno));
			bad = 1;
			break;
		}
		if (r == 0)
			break;
		total += r;
		if (total > s->size)
			break;
	}
	if (!bad)
		bad |= compare(s, path, i, "read", 0, s->got, total, s->size);
	for (int k = 0; k < 4 && !bad; k++) {
		size_t po = below(s, s->size + 64), pn = 1 + below(s, BLOCK);
		size_t wantn = po >= s->size ? 0 : (s->size - po < pn ? s->size - po : pn);
		ssize_t r = pread(fd, s->got, pn, (off_t)po);
		if (r < 0) {
			fail("thread %d file %s iteration %ld: pread %zu at offset %zu: %s", s->t, path, i, pn, po, strerror(errno));
			bad = 1;
		} else
			bad |= compare(s, path, i, "pread", po, s->got, (size_t)r, wantn);
	}
	close(fd);
	return bad;
}

static void *worker(void *arg)
{
	struct th *s = arg;
	char path[FILES][4096];
	int bad = 0;

	for (int f = 0; f < FILES; f++)
		snprintf(path[f], sizeof path[f], "%s/t%d.%c", workdir, s->t, 'a' + f);
	for (s->done = 0; s->done < iterations && !bad; s->done++)
		for (int f = 0; f < FILES && !bad; f++)
			bad = one(s, path[f], f, s->done);
	snprintf(summary[s->t], sizeof summary[s->t], "thread %d: %s, %ld iterations, %lld bytes verified", s->t,
		 bad ? "FAILED" : "ok", s->done, s->verified);
	return NULL;
}

/* A ninth thread sends the process SIGUSR1 every 50 microseconds; the
 * handler does nothing and has SA_RESTART. A signal that reaches a thread
 * while a supervisor is answering its call interrupts the thread's wait
 * for the answer: the call must then complete once, with its own result. */
static volatile int stop;
static volatile long handled;

static void onsignal(int sig)
{
	(void)sig;
	handled++;
}

static void *pester(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 50000};
	while (!stop) {
		kill(getpid(), SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (iterations = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: threads_rw WORKDIR ITERATIONS\n");
		return 2;
	}
	workdir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);

	static struct th ths[THREADS];
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsignal;
	sa.sa_flags = SA_RESTART;
	pthread_t th[THREADS], pt;
	if (sigaction(SIGUSR1, &sa, NULL) != 0 || pthread_create(&pt, NULL, pester, NULL) != 0) {
		printf("FATAL: signal thread: %s\n", strerror(errno));
		return 2;
	}
	for (int t = 0; t < THREADS; t++) {
		ths[t].t = t;
		ths[t].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);
		if (pthread_create(&th[t], NULL, worker, &ths[t]) != 0) {
			printf("FATAL: pthread_create\n");
			return 2;
		}
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	stop = 1;
	pthread_join(pt, NULL);
	fprintf(stderr, "%ld signals handled\n", (long)handled);
	for (int t = 0; t < THREADS; t++)
		printf("%s\n", summary[t]);
	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
