/*
 * routes: a program that tries to change a host directory P that fsshim
 * serves (the directory behind a --mount, or an --overlay's directory) by
 * routes the kernel resolves itself, where a check fsshim makes on the
 * path beforehand cannot hold.
 *
 *   routes P SCRATCH [ROUNDS]
 *
 * P holds a file "marker". SCRATCH is a writable directory outside every
 * mount. Each route prints one line: what the call answered. The test
 * that runs this compares P before and after: nothing may have changed.
 * ROUNDS bounds the path-flip races (default 20000 calls each). P need
 * not exist on the host: then nothing may create it there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *P, *S;
static long rounds = 20000;

static void report(const char *route, int r)
{
	if (r >= 0)
		printf("%s: succeeded\n", route);
	else
		printf("%s: %s\n", route, strerror(errno));
}

static int create(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, "escaped\n", 8) < 0)
			perror("write");
		close(fd);
	}
	return fd;
}

static void magic_links(void)
{
	char path[4096];
	snprintf(path, sizeof path, "/proc/self/root%s/r1", P);
	report("/proc/self/root", create(path));
	snprintf(path, sizeof path, "/proc/thread-self/root%s/r2", P);
	report("/proc/thread-self/root", create(path));
	snprintf(path, sizeof path, "/proc/%d/root%s/r3", (int)getppid(), P);
	report("/proc/PPID/root", create(path));
	snprintf(path, sizeof path, "/proc/1/root%s/r4", P);
	report("/proc/1/root", create(path));

	char *dup = strdup(P);
	char *dup2 = strdup(P);
	int dfd = open(dirname(dup), O_PATH | O_DIRECTORY);
	snprintf(path, sizeof path, "/proc/self/fd/%d/%s/r5", dfd, basename(dup2));
	report("/proc/self/fd/N/..", create(path));
	close(dfd);
	free(dup);
	free(dup2);

	struct open_how how = {.flags = O_CREAT | O_WRONLY, .mode = 0644};
	snprintf(path, sizeof path, "/proc/self/root%s/r6", P);
	int fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
	report("openat2 /proc/self/root", fd);
	if (fd >= 0)
		close(fd);

	snprintf(path, sizeof path, "/proc/self/root%s/d7", P);
	report("mkdir /proc/self/root", mkdir(path, 0755));
	snprintf(path, sizeof path, "/proc/self/root%s/marker", P);
	report("unlink /proc/self/root", unlink(path));
	report("chmod /proc/self/root", chmod(path, 0600));
	report("truncate /proc/self/root", truncate(path, 0));
}

static void host_symlinks(void)
{
	char link[2048], path[4096];
	char *dup = strdup(P);
	char *dup2 = strdup(P);
	snprintf(link, sizeof link, "%s/to-parent", S);
	if (symlink(dirname(dup), link) < 0)
		perror("symlink");
	snprintf(path, sizeof path, "%s/%s/r8", link, basename(dup2));
	report("host symlink to the parent", create(path));
	free(dup);
	free(dup2);

	snprintf(link, sizeof link, "%s/to-dir", S);
	if (symlink(P, link) < 0)
		perror("symlink");
	snprintf(path, sizeof path, "%s/marker", link);
	report("unlink through a host symlink", unlink(path));
	snprintf(path, sizeof path, "%s/r9", link);
	report("create through a host symlink", create(path));
}

static int fs_child(void *arg)
{
	return fchdir(*(int *)arg) < 0 ? 1 : 0;
}

static void clone_fs(void)
{
	char path[4096];
	snprintf(path, sizeof path, "/proc/self/root%s", P);
	int dfd = open(path, O_PATH | O_DIRECTORY);
	if (dfd < 0) {
		report("clone(CLONE_FS) fchdir", -1);
		return;
	}
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		strcpy(cwd, "/");
	static char stack[64 * 1024];
	pid_t pid = clone(fs_child, stack + sizeof stack, CLONE_FS | SIGCHLD, &dfd);
	int st;
	if (pid > 0)
		waitpid(pid, &st, 0);
	report("clone(CLONE_FS) sibling's chdir, then a relative create", create("r10"));
	if (chdir(cwd) < 0)
		perror("chdir back");
	close(dfd);
}

static void rename_ancestor(void)
{
	char *dup = strdup(P);
	char *dup2 = strdup(P);
	char *parent = dirname(dup);
	char moved[2048], path[4096];
	snprintf(moved, sizeof moved, "%s.moved", parent);
	if (rename(parent, moved) < 0) {
		report("rename of the parent", -1);
	} else {
		snprintf(path, sizeof path, "%s/%s/r11", moved, basename(dup2));
		report("create under the renamed parent", create(path));
		if (rename(moved, parent) < 0)
			perror("rename back");
	}
	free(dup);
	free(dup2);
}

static char flip[4096];
static atomic_int stop;

static void *flipper(void *arg)
{
	char **paths = arg;
	for (int i = 0; !atomic_load(&stop); i++)
		strcpy(flip, paths[i & 1]);
	return NULL;
}

static void race(const char *what, int mk)
{
	char a[2048], b[2048];
	snprintf(a, sizeof a, "%s/flip-%s", S, what);
	snprintf(b, sizeof b, "%s/flip-%s", P, what);
	/* Same length, so a half-copied string is one or the other. */
	char *paths[2] = {a, b};
	strcpy(flip, a);
	atomic_store(&stop, 0);
	pthread_t t;
	pthread_create(&t, NULL, flipper, paths);
	long ok = 0;
	for (long i = 0; i < rounds; i++) {
		if (mk) {
			if (mkdir(flip, 0755) == 0)
				ok++;
			rmdir(a);
		} else {
			int fd = open(flip, O_CREAT | O_WRONLY, 0644);
			if (fd >= 0) {
				ok++;
				close(fd);
			}
			unlink(a);
		}
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("path flip %s: %ld calls ran\n", what, rounds);
}

/*
 * The same race on the mount's path itself: when that path does not exist
 * on the host, a mkdir or open(O_CREAT) the kernel resolves to it would
 * create it there. The other path is a name in SCRATCH of the same length.
 */
static void race_self(void)
{
	char a[2048];
	size_t lp = strlen(P), ls = strlen(S);
	if (lp >= ls + 2) {
		snprintf(a, sizeof a, "%s/", S);
		memset(a + ls + 1, 'x', lp - ls - 1);
		a[lp] = 0;
	} else if (lp == ls) {
		snprintf(a, sizeof a, "%s", S);
		a[lp - 1] = a[lp - 1] == '_' ? '-' : '_';
	} else {
		printf("path flip on the mount path: skipped (lengths)\n");
		return;
	}
	char *paths[2] = {a, (char *)P};
	strcpy(flip, a);
	atomic_store(&stop, 0);
	pthread_t t;
	pthread_create(&t, NULL, flipper, paths);
	for (long i = 0; i < rounds; i++) {
		if (mkdir(flip, 0755) == 0)
			rmdir(a);
		int fd = open(flip, O_CREAT | O_WRONLY, 0644);
		if (fd >= 0) {
			close(fd);
			unlink(a);
		}
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	rmdir(a);
	unlink(a);
	printf("path flip on the mount path: %ld rounds ran\n", rounds);
}

/*
 * A chdir into the mount is let run by the kernel too (the kernel's
 * working directory follows into the mount's exec shadow, see
 * emul/exec.go): flip its path between a directory in SCRATCH and one in
 * the mount, and create files relative to wherever the kernel's working
 * directory went.
 */
static void race_chdir(void)
{
	char a[2048], b[2048];
	snprintf(a, sizeof a, "%s/flip-cd", S);
	snprintf(b, sizeof b, "%s/flip-cd", P);
	mkdir(a, 0755);
	mkdir(b, 0755);
	char *paths[2] = {a, b};
	strcpy(flip, a);
	atomic_store(&stop, 0);
	pthread_t t;
	pthread_create(&t, NULL, flipper, paths);
	for (long i = 0; i < rounds / 4; i++) {
		if (chdir(flip) == 0) {
			int fd = open("x", O_CREAT | O_WRONLY, 0644);
			if (fd >= 0)
				close(fd);
			mkdir("d", 0755);
		}
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	if (chdir(S) < 0)
		perror("chdir back");
	printf("chdir flip: %ld rounds ran\n", rounds / 4);
}

static void root_only(void)
{
	char path[4096];
	if (geteuid() != 0)
		return;
	snprintf(path, sizeof path, "%s/bound", S);
	mkdir(path, 0755);
	report("mount --bind P elsewhere", mount(P, path, NULL, MS_BIND, NULL));
	report("umount P", umount2(P, MNT_DETACH));

	struct {
		struct file_handle fh;
		unsigned char buf[128];
	} h;
	h.fh.handle_bytes = sizeof h.buf;
	int mnt;
	snprintf(path, sizeof path, "/proc/self/root%s/marker", P);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, 0) < 0) {
		report("name_to_handle_at", -1);
	} else {
		char *dup = strdup(P);
		int mfd = open(dirname(dirname(dup)), O_RDONLY | O_DIRECTORY);
		free(dup);
		int fd = open_by_handle_at(mfd, &h.fh, O_WRONLY);
		report("open_by_handle_at through another mount", fd);
		if (fd >= 0) {
			if (write(fd, "escaped\n", 8) < 0)
				perror("write");
			close(fd);
		}
		close(mfd);
	}
	snprintf(path, sizeof path, "/proc/self/root%s/marker", P);
	report("acct", acct(path));
	acct(NULL);
}

/*
 * attributes: extended attributes and inode flags of the marker and of P
 * itself, by its path and through /proc/self/root (which the kernel
 * resolves): setxattr, file_setattr (Linux 6.17) and the
 * FS_IOC_SETFLAGS ioctl on an fd.
 */
static void attributes(void)
{
	char path[4096];
	const char *fmts[] = {"%s%s", "/proc/self/root%s%s"};
	const char *names[] = {"/marker", ""};
	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			char what[128];
			snprintf(path, sizeof path, fmts[i], P, names[j]);
			snprintf(what, sizeof what, "setxattr %s%s", i ? "/proc/self/root P" : "P", names[j]);
			report(what, setxattr(path, "user.escaped", "1", 1, 0));
			struct {
				unsigned long long xflags;
				unsigned int extsize, nextents, projid, cowextsize;
			} fa = {.xflags = 0x00000080 /* FS_XFLAG_NODUMP */};
			snprintf(what, sizeof what, "file_setattr %s%s", i ? "/proc/self/root P" : "P", names[j]);
			report(what, syscall(469, AT_FDCWD, path, &fa, sizeof fa, 0));
			int fd = open(path, O_RDONLY | O_NONBLOCK);
			int fl = FS_NODUMP_FL;
			snprintf(what, sizeof what, "FS_IOC_SETFLAGS %s%s", i ? "/proc/self/root P" : "P", names[j]);
			report(what, fd < 0 ? -1 : ioctl(fd, FS_IOC_SETFLAGS, &fl));
			if (fd >= 0)
				close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: routes P SCRATCH [ROUNDS]\n");
		return 2;
	}
	P = argv[1];
	S = argv[2];
	if (argc > 3)
		rounds = atol(argv[3]);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (chdir(S) < 0) {
		perror("chdir");
		return 2;
	}
	attributes(); /* first: the routes below remove the marker */
	magic_links();
	host_symlinks();
	clone_fs();
	rename_ancestor();
	race("open", 0);
	race("mkdir", 1);
	race_self();
	race_chdir();
	root_only();
	printf("done\n");
	return 0;
}
