/*
 * forkfd: descriptors shared across fork, dup2 onto stdin/stdout, and
 * close-on-exec across an exec of /bin/cat and /bin/sh.
 *
 *   forkfd WORKDIR
 *
 * Prints one line per step; every check that fails prints "FAIL: ..." and
 * makes the exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("FAIL: %s\n", what);
		failures++;
	}
}

static void die(const char *what)
{
	printf("FATAL: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void put(int fd, const char *s)
{
	size_t n = strlen(s);
	if (write(fd, s, n) != (ssize_t)n)
		die("write");
}

static void mkfile(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	put(fd, s);
	close(fd);
}

/* slurp reads the whole of path into buf (NUL-terminated). */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n, total = 0;
	while ((n = read(fd, buf + total, size - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = 0;
	return total;
}

/* run forks, lets the child call fn, and returns the child's exit status. */
static int run(void (*fn)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static void child_writes(void *arg)
{
	int fd = *(int *)arg;
	put(fd, "C1\n");
	put(fd, "C2\n");
}

static void child_seeks(void *arg)
{
	int fd = *(int *)arg;
	if (lseek(fd, 3, SEEK_SET) != 3)
		_exit(3);
}

static void child_cat_redirected(void *arg)
{
	(void)arg;
	int in = open("in", O_RDONLY);
	int out = open("out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0)
		_exit(10);
	if (dup2(in, 0) != 0 || dup2(out, 1) != 1)
		_exit(11);
	close(in);
	close(out);
	execl("/bin/cat", "cat", (char *)NULL);
	_exit(127);
}

static void child_cat_fd6(void *arg)
{
	(void)arg;
	int null = open("/dev/null", O_WRONLY);
	dup2(null, 2);
	execl("/bin/cat", "cat", "/dev/fd/6", (char *)NULL);
	_exit(127);
}

static void child_sh(void *arg)
{
	execl("/bin/sh", "sh", "-c", (const char *)arg, (char *)NULL);
	_exit(127);
}

int main(int argc, char **argv)
{
	char buf[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: forkfd WORKDIR\n");
		return 2;
	}
	if (chdir(argv[1]) != 0)
		die("chdir");

	/* 1. One open file description shared by parent and child. */
	int fd = open("shared", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open shared");
	put(fd, "P0\n");
	int st = run(child_writes, &fd);
	printf("child wrote through the inherited fd: exit %d\n", st);
	put(fd, "P3\n");
	off_t off = lseek(fd, 0, SEEK_CUR);
	printf("offset after child and parent writes: %lld\n", (long long)off);
	check(off == 12, "the child's writes moved the shared offset");
	st = run(child_seeks, &fd);
	off = lseek(fd, 0, SEEK_CUR);
	printf("offset after the child's lseek: %lld (child exit %d)\n", (long long)off, st);
	check(off == 3, "the child's lseek moved the parent's offset");
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n < 0 ? 0 : n] = 0;
	printf("content: %s", buf);
	check(strcmp(buf, "P0\nC1\nC2\nP3\n") == 0, "content of shared");
	int flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_APPEND);
	st = run(child_writes, &fd);
	printf("O_APPEND set by the parent holds in the child: size %lld\n", (long long)lseek(fd, 0, SEEK_END));
	check(lseek(fd, 0, SEEK_END) == 18, "size after appending child");
	close(fd);

	/* 2. dup2 onto stdin and stdout, then exec /bin/cat. */
	mkfile("in", "line one\nline two\n");
	st = run(child_cat_redirected, NULL);
	slurp("out", buf, sizeof buf);
	printf("cat with stdin and stdout redirected: exit %d, out: %s", st, buf);
	check(st == 0 && strcmp(buf, "line one\nline two\n") == 0, "cat copied in to out");

	/* dup2 onto our own stdout. */
	fflush(stdout);
	int saved = dup(1);
	int f = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (saved < 0 || f < 0)
		die("open stdout.txt");
	dup2(f, 1);
	close(f);
	printf("written through fd 1\n");
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	slurp("stdout.txt", buf, sizeof buf);
	printf("stdout.txt: %s", buf);
	check(strcmp(buf, "written through fd 1\n") == 0, "printf after dup2 onto stdout");

	/* 3. Close-on-exec. fd 5 is inherited, fd 6 is closed at exec. */
	mkfile("keep", "kept\n");
	mkfile("secret", "secret\n");
	int a = open("keep", O_RDONLY);
	int b = open("secret", O_RDONLY | O_CLOEXEC);
	if (a < 0 || b < 0)
		die("open keep/secret");
	if (dup2(a, 5) != 5 || dup3(b, 6, O_CLOEXEC) != 6)
		die("dup2/dup3");
	close(a);
	close(b);
	printf("fd 5 flags %d, fd 6 flags %d\n", fcntl(5, F_GETFD), fcntl(6, F_GETFD));
	st = run(child_cat_fd6, NULL);
	printf("cat /dev/fd/6 after exec: exit %d\n", st);
	check(st == 1, "fd 6 is closed in the exec'd cat");
	st = run(child_sh, "cat <&5; if { cat <&6; } 2>/dev/null; then echo fd 6 open; else echo fd 6 closed; fi");
	printf("sh exit %d\n", st);
	check(st == 0, "sh ran");
	/* The parent still has both. */
	n = pread(6, buf, sizeof buf - 1, 0);
	buf[n < 0 ? 0 : n] = 0;
	printf("parent reads fd 6: %s", buf);
	check(strcmp(buf, "secret\n") == 0, "fd 6 still open in the parent");

	/* 4. A child that exits leaves our descriptors alone. */
	fd = open("shared", O_RDONLY);
	st = run(child_seeks, &fd);
	off = lseek(fd, 0, SEEK_CUR);
	check(off == 3, "offset after a second child's lseek");
	close(fd);

	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
