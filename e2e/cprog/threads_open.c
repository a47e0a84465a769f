/*
 * threads_open: eight threads, each looping over its own file
 *
 *   open(O_WRONLY|O_CREAT|O_TRUNC), write, close,
 *   open(O_RDONLY), read to EOF, compare, close
 *
 *   threads_open WORKDIR ITERATIONS
 *
 * Every thread writes data no other thread writes (each byte carries the
 * thread number), so reading another thread's file, or a stale or torn
 * file, is a mismatch. Standard input is reopened on /dev/null first, so
 * that 0, 1 and 2 are all open: open() returning one of them means it
 * handed out a descriptor that was not free. At the end the three must
 * still be what they were. Meanwhile a ninth thread sends the process
 * SIGUSR1 in a tight loop, so that calls are interrupted while a
 * supervisor answers them.
 *
 * Prints one line per thread and "ok"; every mismatch prints "FAIL: ..."
 * naming the thread, file, iteration and offset, and makes the exit
 * status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8
#define MAXSIZE 8192
#define MAXFAIL 20

static const char *workdir;
static long iterations;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int failures;
static char summary[THREADS][128];

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

/* fill makes the content of thread t's file in iteration i: a header that
 * names both, then bytes that depend on t, i and the offset. */
static size_t fill(char *buf, int t, long i)
{
	size_t n = 1 + ((size_t)t * 7919 + (size_t)i * 104729) % MAXSIZE;
	char head[32];
	int h = snprintf(head, sizeof head, "T%d I%06ld\n", t, i);
	for (size_t k = 0; k < n; k++)
		buf[k] = (char)('a' + (t * 3 + k + i) % 23) | (char)(t << 5 & 0x80);
	memcpy(buf, head, n < (size_t)h ? n : (size_t)h);
	return n;
}

/* badfd reports an open() result that is not a fresh descriptor. */
static int badfd(int fd, int t, const char *path, long i, const char *how)
{
	if (fd < 0) {
		fail("thread %d file %s iteration %ld: open %s: %s", t, path, i, how, strerror(errno));
		return 1;
	}
	if (fd <= 2) {
		fail("thread %d file %s iteration %ld: open %s returned %d, which was open already", t, path, i, how, fd);
		return 1;
	}
	return 0;
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	char path[4096];
	static __thread char want[MAXSIZE], got[MAXSIZE + 1];
	long long bytes = 0;
	int bad = 0;
	long i;

	snprintf(path, sizeof path, "%s/t%d", workdir, t);
	for (i = 0; i < iterations && !bad; i++) {
		size_t n = fill(want, t, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (badfd(fd, t, path, i, "O_WRONLY|O_CREAT|O_TRUNC")) {
			bad = 1;
			break;
		}
		ssize_t w = write(fd, want, n);
		if (w != (ssize_t)n) {
			fail("thread %d file %s iteration %ld: write to fd %d returned %zd of %zu: %s", t, path, i, fd, w, n, w < 0 ? strerror(errno) : "short");
			bad = 1;
		}
		if (close(fd) != 0) {
			fail("thread %d file %s iteration %ld: close %d: %s", t, path, i, fd, strerror(errno));
			bad = 1;
		}
		if (bad)
			break;

		fd = open(path, O_RDONLY);
		if (badfd(fd, t, path, i, "O_RDONLY")) {
			bad = 1;
			break;
		}
		size_t total = 0;
		ssize_t r;
		while (total <= MAXSIZE && (r = read(fd, got + total, MAXSIZE + 1 - total)) > 0)
			total += r;
		if (r < 0) {
			fail("thread %d file %s iteration %ld: read fd %d at offset %zu: %s", t, path, i, fd, total, strerror(errno));
			bad = 1;
		} else if (total != n || memcmp(got, want, n) != 0) {
			size_t k = 0;
			while (k < n && k < total && got[k] == want[k])
				k++;
			char head[16] = "";
			memcpy(head, got, total < 11 ? total : 11);
			for (char *p = head; *p; p++)
				if (*p == '\n')
					*p = 0;
			fail("thread %d file %s iteration %ld: read %zu bytes, want %zu; first difference at offset %zu (data starts \"%s\")",
			     t, path, i, total, n, k, head);
			bad = 1;
		}
		if (close(fd) != 0) {
			fail("thread %d file %s iteration %ld: close %d: %s", t, path, i, fd, strerror(errno));
			bad = 1;
		}
		bytes += n;
	}
	snprintf(summary[t], sizeof summary[t], "thread %d: %s after %ld iterations, %lld bytes compared",
		 t, bad ? "failed" : "ok", i, bytes);
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
		fprintf(stderr, "usage: threads_open WORKDIR ITERATIONS\n");
		return 2;
	}
	workdir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);

	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) != 0) {
		printf("FATAL: /dev/null on stdin: %s\n", strerror(errno));
		return 2;
	}
	if (null != 0)
		close(null);
	struct stat st0, st1, st2, st;
	if (fstat(0, &st0) != 0 || fstat(1, &st1) != 0 || fstat(2, &st2) != 0) {
		printf("FATAL: fstat of 0, 1, 2: %s\n", strerror(errno));
		return 2;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsignal;
	sa.sa_flags = SA_RESTART;
	pthread_t th[THREADS], pt;
	if (sigaction(SIGUSR1, &sa, NULL) != 0 || pthread_create(&pt, NULL, pester, NULL) != 0) {
		printf("FATAL: signal thread: %s\n", strerror(errno));
		return 2;
	}
	for (int t = 0; t < THREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(long)t) != 0) {
			printf("FATAL: pthread_create\n");
			return 2;
		}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	stop = 1;
	pthread_join(pt, NULL);
	fprintf(stderr, "%ld signals handled\n", (long)handled);
	for (int t = 0; t < THREADS; t++)
		printf("%s\n", summary[t]);

	int fds[3] = {0, 1, 2};
	struct stat *was[3] = {&st0, &st1, &st2};
	for (int k = 0; k < 3; k++)
		if (fstat(fds[k], &st) != 0 || st.st_dev != was[k]->st_dev || st.st_ino != was[k]->st_ino)
			fail("fd %d is no longer the file it was at the start", fds[k]);
	char c;
	ssize_t r = read(0, &c, 1);
	if (r != 0)
		fail("stdin (/dev/null) read returned %zd, want 0 (end of file)", r);

	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
