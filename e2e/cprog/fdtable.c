/*
 * fdtable: changes to the fd table that fsshim does not see, and fds that
 * only look like fsshim's.
 *
 *   fdtable WORKDIR HOSTFILE
 *
 * HOSTFILE is a file outside any mount holding "host\n".
 *
 *   clone_files  a process sharing our fd table (CLONE_FILES, another
 *                thread group) closes an emulated fd; the number then goes
 *                to a host file, which must read as the host file.
 *   exec_cloexec a close-on-exec emulated fd vanishes with an exec; the
 *                new program's host file at that number must read as the
 *                host file, its emulated fds as theirs.
 *   clone_fs     a process sharing our working directory (CLONE_FS)
 *                moves it; our relative create must follow.
 *   forged       a new process makes memfds named like fsshim's
 *                placeholders before its first file call; writes to them
 *                must stay in them, never reach a file in the mount.
 *
 * Prints one line per step; every check that fails prints "FAIL: ..." and
 * makes the exit status 1. Ends with "ok".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

static void mkfile(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
	close(fd);
}

/* readall reads fd from offset 0 into buf (NUL-terminated). */
static const char *readall(int fd, char *buf, size_t n)
{
	ssize_t r = pread(fd, buf, n - 1, 0);
	if (r < 0)
		r = 0;
	buf[r] = 0;
	return buf;
}

static int closer(void *arg)
{
	close(*(int *)arg);
	return 0;
}

static void clone_files(const char *hostfile)
{
	char buf[64];
	int fd = open("cf", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open cf");
	if (write(fd, "ramfs\n", 6) != 6)
		die("write cf");
	static char stack[64 * 1024];
	pid_t pid = clone(closer, stack + sizeof stack, CLONE_FILES | SIGCHLD, &fd);
	if (pid < 0)
		die("clone");
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	int h = open(hostfile, O_RDONLY);
	if (h < 0)
		die("open hostfile");
	check(h == fd, "the host file takes the number the sharer closed");
	check(strcmp(readall(h, buf, sizeof buf), "host\n") == 0, "clone_files: the host file reads as the host file");
	close(h);
	printf("clone_files: %s", readall(open("cf", O_RDONLY), buf, sizeof buf));
}

static int fs_child(void *arg)
{
	return chdir((const char *)arg) < 0 ? 1 : 0;
}

/* clone_fs: a process sharing our working directory (CLONE_FS) moves it
 * into a subdirectory; our next relative create lands there. */
static void clone_fs(const char *work)
{
	char path[4096];
	if (mkdir("cfs", 0755) < 0)
		die("mkdir cfs");
	static char stack[64 * 1024];
	pid_t pid = clone(fs_child, stack + sizeof stack, CLONE_FS | SIGCHLD, "cfs");
	if (pid < 0)
		die("clone");
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "clone_fs: the sharer's chdir succeeds");
	int fd = open("made-after", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open made-after");
	close(fd);
	snprintf(path, sizeof path, "%s/cfs/made-after", work);
	struct stat sb;
	check(stat(path, &sb) == 0, "clone_fs: the relative create follows the shared working directory");
	printf("clone_fs: created in %s\n", stat(path, &sb) == 0 ? "the sharer's new directory" : "the old directory");
	if (chdir(work) < 0)
		die("chdir back");
}

static void exec_cloexec(const char *self, const char *work, const char *hostfile)
{
	mkfile("ce", "emulated\n");
	int fd = open("ce", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open ce");
	char num[16];
	snprintf(num, sizeof num, "%d", fd);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execl(self, self, work, hostfile, "after-exec", num, (char *)NULL);
		die("exec");
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec_cloexec: the new program's checks passed");
	close(fd);
}

static void after_exec(const char *hostfile, int was)
{
	char buf[64];
	int h = open(hostfile, O_RDONLY);
	if (h < 0)
		die("open hostfile");
	check(h == was, "after exec: the host file takes the closed number");
	check(strcmp(readall(h, buf, sizeof buf), "host\n") == 0, "after exec: the host file reads as the host file");
	int e = open("ce", O_RDONLY);
	check(e >= 0 && strcmp(readall(e, buf, sizeof buf), "emulated\n") == 0, "after exec: an emulated file reads as itself");
	printf("exec_cloexec: %s", buf);
	exit(failures ? 1 : 0);
}

static void forged(void)
{
	char buf[64];
	mkfile("secret", "secret\n");
	int keep = open("secret", O_RDWR);
	if (keep < 0)
		die("open secret");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* No file syscall fsshim sees before the memfds exist. */
		int fds[64];
		for (int i = 0; i < 64; i++) {
			char name[32];
			snprintf(name, sizeof name, "fsshim-%d", i + 1);
			fds[i] = memfd_create(name, 0);
			if (fds[i] < 0)
				_exit(3);
		}
		for (int i = 0; i < 64; i++)
			if (write(fds[i], "FORGED\n", 7) != 7)
				_exit(4);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "forged: the child's memfd writes succeed");
	printf("forged: %s", readall(keep, buf, sizeof buf));
	close(keep);
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[3], "after-exec") == 0) {
		if (chdir(argv[1]) < 0)
			die("chdir");
		after_exec(argv[2], atoi(argv[4]));
	}
	if (argc != 3) {
		fprintf(stderr, "usage: fdtable WORKDIR HOSTFILE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (chdir(argv[1]) < 0)
		die("chdir");
	clone_files(argv[2]);
	clone_fs(argv[1]);
	exec_cloexec("/proc/self/exe", argv[1], argv[2]);
	forged();
	if (failures)
		return 1;
	printf("ok\n");
	return 0;
}
