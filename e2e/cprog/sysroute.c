/* sysroute: tries one route to the host directory behind a mount and
 * prints what each call answered. Usage: sysroute ROUTE DIR, where DIR is
 * (under fsshim) a mount path. Every call prints "name: ok" or
 * "name: ERRNO"; a route that got through goes on to write into DIR, so
 * a change to the host directory behind the mount shows. The exit status
 * is 0 unless the program itself failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/landlock.h>
#include <sys/inotify.h>
#include <sys/quota.h>
#include <sys/swap.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif
#ifndef SYS_file_getattr
#define SYS_file_getattr 468
#endif
#ifndef SYS_file_setattr
#define SYS_file_setattr 469
#endif
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif

struct file_attr {
	uint64_t fa_xflags;
	uint32_t fa_extsize, fa_nextents, fa_projid, fa_cowextsize;
};
#define XFLAG_NODUMP 0x80

static const char *dir;
static char pbuf[8192];

static const char *in(const char *name)
{
	snprintf(pbuf, sizeof pbuf, "%s/%s", dir, name);
	return pbuf;
}

static long report(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, strerrorname_np(errno));
	else
		printf("%s: ok\n", what);
	fflush(stdout);
	return r;
}

/* write_at creates NAME relative to dirfd and writes to it. */
static void write_at(const char *what, int dirfd, const char *name)
{
	int fd = report(what, openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644));
	if (fd >= 0) {
		report("write", write(fd, "escaped\n", 8));
		close(fd);
	}
}

static void make_file(const char *name)
{
	int fd = open(in(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "ramfs\n", 6) != 6) {
		perror(name);
		exit(1);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: sysroute ROUTE DIR\n");
		return 2;
	}
	const char *route = argv[1];
	dir = argv[2];
	make_file("marker");
	/* The sentinel the host directory holds: under fsshim it is hidden
	 * (ENOENT); natively it is there. Routes that reach it change it. */
	const char *sentinel = ".fsshim-e2e-host-only";

	if (!strcmp(route, "acct")) {
		if (report("acct", acct(in("marker"))) == 0)
			report("acct-off", acct(NULL));
		if (report("acct-sentinel", acct(in(sentinel))) == 0)
			report("acct-off", acct(NULL));
	} else if (!strcmp(route, "file_setattr")) {
		struct file_attr fa = {0};
		report("file_getattr", syscall(SYS_file_getattr, AT_FDCWD, in("marker"), &fa, sizeof fa, 0));
		printf("xflags: %#llx\n", (unsigned long long)fa.fa_xflags);
		fa.fa_xflags = XFLAG_NODUMP;
		report("file_setattr-nodump", syscall(SYS_file_setattr, AT_FDCWD, in("marker"), &fa, sizeof fa, 0));
		report("file_setattr-sentinel", syscall(SYS_file_setattr, AT_FDCWD, in(sentinel), &fa, sizeof fa, 0));
		report("file_setattr-dir", syscall(SYS_file_setattr, AT_FDCWD, dir, &fa, sizeof fa, 0));
		fa.fa_xflags = 0;
		report("file_setattr-clear", syscall(SYS_file_setattr, AT_FDCWD, in("marker"), &fa, sizeof fa, 0));
		int fd = open(in("marker"), O_RDONLY);
		unsigned int fl = 1;
		report("FS_IOC_SETFLAGS-nodump", ioctl(fd, FS_IOC_SETFLAGS, &(unsigned int){FS_NODUMP_FL}));
		report("FS_IOC_GETFLAGS", ioctl(fd, FS_IOC_GETFLAGS, &fl));
		close(fd);
	} else if (!strcmp(route, "handle")) {
		struct file_handle *fh = calloc(1, sizeof *fh + MAX_HANDLE_SZ);
		int mnt;
		fh->handle_bytes = MAX_HANDLE_SZ;
		if (report("name_to_handle_at", name_to_handle_at(AT_FDCWD, in("marker"), fh, &mnt, 0)) == 0) {
			int fd = report("open_by_handle_at", open_by_handle_at(AT_FDCWD, fh, O_WRONLY));
			if (fd >= 0)
				report("write", write(fd, "escaped\n", 8));
		}
		fh->handle_bytes = MAX_HANDLE_SZ;
		if (report("name_to_handle_at-sentinel", name_to_handle_at(AT_FDCWD, in(sentinel), fh, &mnt, 0)) == 0) {
			int fd = report("open_by_handle_at-sentinel", open_by_handle_at(AT_FDCWD, fh, O_WRONLY | O_APPEND));
			if (fd >= 0)
				report("write", write(fd, "escaped\n", 8));
		}
		fh->handle_bytes = MAX_HANDLE_SZ;
		report("name_to_handle_at-dir", name_to_handle_at(AT_FDCWD, dir, fh, &mnt, 0));
		/* The parent is a host directory: its handle is the host's. */
		char parent[4096];
		snprintf(parent, sizeof parent, "%s/..", dir);
		fh->handle_bytes = MAX_HANDLE_SZ;
		if (report("name_to_handle_at-parent", name_to_handle_at(AT_FDCWD, parent, fh, &mnt, 0)) == 0) {
			int fd = report("open_by_handle_at-parent", open_by_handle_at(AT_FDCWD, fh, O_RDONLY | O_DIRECTORY));
			if (fd >= 0) {
				char name[256];
				snprintf(name, sizeof name, "%s/escaped", strrchr(dir, '/') + 1);
				write_at("openat-handle", fd, name);
			}
		}
	} else if (!strcmp(route, "open_tree") || !strcmp(route, "open_tree_attr")) {
		long nr = !strcmp(route, "open_tree") ? SYS_open_tree : SYS_open_tree_attr;
		struct mount_attr attr = {0};
		void *a = nr == SYS_open_tree ? NULL : &attr;
		size_t asz = nr == SYS_open_tree ? 0 : sizeof attr;
		int fd = report("open_tree-mount", syscall(nr, AT_FDCWD, dir, OPEN_TREE_CLONE, a, asz));
		if (fd >= 0) {
			write_at("openat-tree", fd, "escaped");
			report("fchdir-tree", fchdir(fd));
		}
		/* A clone of the parent holds the hidden directory. */
		char parent[4096];
		snprintf(parent, sizeof parent, "%s/..", dir);
		fd = report("open_tree-parent", syscall(nr, AT_FDCWD, parent, OPEN_TREE_CLONE, a, asz));
		if (fd >= 0) {
			char name[256];
			snprintf(name, sizeof name, "%s/escaped", strrchr(dir, '/') + 1);
			write_at("openat-parent-tree", fd, name);
		}
		fd = report("open_tree-plain", syscall(nr, AT_FDCWD, dir, 0, a, asz));
		if (fd >= 0)
			write_at("openat-plain-tree", fd, "escaped");
	} else if (!strcmp(route, "mount")) {
		/* A private namespace, so that a mount that gets through does
		 * not outlive the test. */
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			perror("unshare");
			return 1;
		}
		char other[256], parent[4096];
		snprintf(parent, sizeof parent, "%s/..", dir);
		snprintf(other, sizeof other, "/tmp/fsshim-sysroute-%d", getpid());
		mkdir(other, 0755);
		if (report("mount-bind", mount(dir, other, NULL, MS_BIND, NULL)) == 0) {
			snprintf(pbuf, sizeof pbuf, "%s/escaped", other);
			write_at("open-bind", AT_FDCWD, pbuf);
			umount2(other, MNT_DETACH);
		}
		if (report("mount-bind-parent", mount(parent, other, NULL, MS_BIND, NULL)) == 0) {
			snprintf(pbuf, sizeof pbuf, "%s/%s/escaped", other, strrchr(dir, '/') + 1);
			write_at("open-bind-parent", AT_FDCWD, pbuf);
			umount2(other, MNT_DETACH);
		}
		report("mount-onto", mount("tmpfs", dir, "tmpfs", 0, NULL));
		report("umount2", umount2(dir, MNT_DETACH));
		rmdir(other);
	} else if (!strcmp(route, "chroot")) {
		char parent[4096];
		snprintf(parent, sizeof parent, "%s/..", dir);
		if (report("chroot-mount", chroot(dir)) == 0) {
			write_at("create-in-root", AT_FDCWD, "/escaped");
			return 0;
		}
		if (report("chroot-parent", chroot(parent)) == 0) {
			snprintf(pbuf, sizeof pbuf, "/%s/escaped", strrchr(dir, '/') + 1);
			write_at("create-in-root", AT_FDCWD, pbuf);
		}
	} else if (!strcmp(route, "inotify")) {
		int in_fd = inotify_init1(0);
		report("inotify_add_watch", inotify_add_watch(in_fd, dir, IN_ALL_EVENTS));
		report("inotify_add_watch-file", inotify_add_watch(in_fd, in("marker"), IN_ALL_EVENTS));
	} else if (!strcmp(route, "fanotify")) {
		int fan = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY);
		if (fan < 0) {
			report("fanotify_init", fan);
			return 0;
		}
		report("fanotify_mark", fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, dir));
		int d = open(dir, O_RDONLY | O_DIRECTORY);
		report("fanotify_mark-dirfd", fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, d, NULL));
	} else if (!strcmp(route, "quotactl")) {
		char q[256];
		report("quotactl-special", quotactl(QCMD(Q_GETQUOTA, USRQUOTA), in("marker"), 0, q));
		report("quotactl-quotaon-file", quotactl(QCMD(Q_QUOTAON, USRQUOTA), "/dev/null", QFMT_VFS_V0, (caddr_t)in("marker")));
		int d = open(dir, O_RDONLY | O_DIRECTORY);
		report("quotactl_fd", syscall(SYS_quotactl_fd, d, QCMD(Q_GETQUOTA, USRQUOTA), 0, q));
		close(d);
	} else if (!strcmp(route, "swap")) {
		report("swapon", swapon(in("marker"), 0));
		report("swapoff", swapoff(in("marker")));
		report("swapon-sentinel", swapon(in(sentinel), 0));
	} else if (!strcmp(route, "newmount")) {
		/* The new mount API on paths and fds in the mount. */
		struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
		report("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, dir, 0, &ro, sizeof ro));
		int d = open(dir, O_RDONLY | O_DIRECTORY);
		report("mount_setattr-fd", syscall(SYS_mount_setattr, d, "", AT_EMPTY_PATH, &ro, sizeof ro));
		report("fspick", syscall(SYS_fspick, AT_FDCWD, dir, 0));
		report("fspick-fd", syscall(SYS_fspick, d, "", 8 /* FSPICK_EMPTY_PATH */));
		report("move_mount-from", syscall(SYS_move_mount, AT_FDCWD, dir, AT_FDCWD, "/tmp", 0));
		report("move_mount-onto", syscall(SYS_move_mount, AT_FDCWD, "/tmp", AT_FDCWD, dir, 0));
		int fs = syscall(SYS_fsopen, "tmpfs", 0);
		if (fs >= 0) {
			report("fsconfig-path", syscall(SYS_fsconfig, fs, 3 /* FSCONFIG_SET_PATH */, "source", in("marker"), AT_FDCWD));
			report("fsconfig-string", syscall(SYS_fsconfig, fs, 1 /* FSCONFIG_SET_STRING */, "source", in("marker"), 0));
			report("fsconfig-fd", syscall(SYS_fsconfig, fs, 5 /* FSCONFIG_SET_FD */, "source", NULL, d));
			close(fs);
		} else {
			report("fsopen", fs);
		}
		close(d);
	} else if (!strcmp(route, "bpf")) {
		union bpf_attr a;
		memset(&a, 0, sizeof a);
		a.pathname = (uint64_t)(uintptr_t)in("marker");
		report("bpf-obj_get", syscall(SYS_bpf, BPF_OBJ_GET, &a, sizeof a));
		memset(&a, 0, sizeof a);
		a.pathname = (uint64_t)(uintptr_t)in("pinned");
		a.bpf_fd = 0;
		report("bpf-obj_pin", syscall(SYS_bpf, BPF_OBJ_PIN, &a, sizeof a));
		memset(&a, 0, sizeof a);
		a.pathname = (uint64_t)(uintptr_t)in(sentinel);
		report("bpf-obj_get-sentinel", syscall(SYS_bpf, BPF_OBJ_GET, &a, sizeof a));
	} else if (!strcmp(route, "landlock")) {
		struct landlock_ruleset_attr ra = {.handled_access_fs = LANDLOCK_ACCESS_FS_READ_FILE};
		int rs = report("landlock_create_ruleset", syscall(SYS_landlock_create_ruleset, &ra, sizeof ra, 0));
		struct landlock_path_beneath_attr pb = {.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE};
		pb.parent_fd = open(dir, O_PATH | O_DIRECTORY);
		report("landlock_add_rule", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
		close(pb.parent_fd);
		pb.parent_fd = open("/tmp", O_PATH | O_DIRECTORY);
		report("landlock_add_rule-host", syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0));
	} else if (!strcmp(route, "finit_module")) {
		int fd = open(in("marker"), O_RDONLY);
		report("finit_module", syscall(SYS_finit_module, fd, "", 0));
		close(fd);
	} else {
		fprintf(stderr, "sysroute: unknown route %s\n", route);
		return 2;
	}
	/* What the program itself sees afterwards. */
	struct stat st;
	printf("sentinel: %s\n", stat(in(sentinel), &st) == 0 ? "visible" : strerrorname_np(errno));
	printf("escaped: %s\n", stat(in("escaped"), &st) == 0 ? "visible" : strerrorname_np(errno));
	return 0;
}
