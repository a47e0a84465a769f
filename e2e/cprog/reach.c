/*
 * reach: a program under fsshim tries to reach into fsshim, its parent:
 * take its fds (the seccomp listener among them) with pidfd_getfd, attach
 * to it with ptrace, read its memory with process_vm_readv and
 * /proc/PPID/mem. Each must be refused.
 *
 *   reach
 *
 * Prints one line per attempt and ends with "ok" when every one was
 * refused; exits 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	int failures = 0;
	pid_t pp = getppid();

	int pidfd = syscall(SYS_pidfd_open, pp, 0);
	if (pidfd < 0) {
		printf("pidfd_open: %s\n", strerror(errno));
		return 2;
	}
	int taken = 0, lasterr = 0;
	for (int n = 0; n < 256; n++) {
		int fd = syscall(SYS_pidfd_getfd, pidfd, n, 0);
		if (fd >= 0) {
			taken++;
			close(fd);
		} else if (errno != EBADF) {
			lasterr = errno;
		}
	}
	printf("pidfd_getfd: %d fds taken (%s)\n", taken, lasterr ? strerror(lasterr) : "no refusal seen");
	failures += taken > 0;

	if (ptrace(PTRACE_SEIZE, pp, 0, 0) == 0) {
		printf("ptrace: attached\n");
		failures++;
	} else {
		printf("ptrace: %s\n", strerror(errno));
	}

	char buf[16];
	struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
	if (process_vm_readv(pp, &local, 1, &remote, 1, 0) >= 0 || errno != EPERM) {
		printf("process_vm_readv: not refused (%s)\n", strerror(errno));
		failures++;
	} else {
		printf("process_vm_readv: %s\n", strerror(errno));
	}

	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pp);
	int m = open(path, O_RDONLY);
	if (m >= 0) {
		printf("/proc/PPID/mem: opened\n");
		failures++;
	} else {
		printf("/proc/PPID/mem: %s\n", strerror(errno));
	}
	if (failures)
		return 1;
	printf("ok\n");
	return 0;
}
