package ramfs

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// The BenchmarkTmpfs* benchmarks run the same operations as the ramfs
// benchmarks against the host's tmpfs at /dev/shm, as a yardstick.

const tmpfsMagic = 0x01021994

func tmpfsDir(b *testing.B) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil || st.Type != tmpfsMagic {
		b.Skip("/dev/shm is not tmpfs")
	}
	dir, err := os.MkdirTemp("/dev/shm", "ramfs-bench")
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func tmpfsFile(b *testing.B) *os.File {
	f, err := os.Create(tmpfsDir(b) + "/f")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	if _, err := f.WriteAt(make([]byte, benchFileSize), 0); err != nil {
		b.Fatal(err)
	}
	return f
}

func BenchmarkTmpfsReadAt4K(b *testing.B) {
	f := tmpfsFile(b)
	buf := make([]byte, 4096)
	b.SetBytes(4096)
	var off int64
	for b.Loop() {
		if _, err := syscall.Pread(int(f.Fd()), buf, off); err != nil {
			b.Fatal(err)
		}
		off = (off + 4096) % benchFileSize
	}
}

func BenchmarkTmpfsWriteAt4K(b *testing.B) {
	f := tmpfsFile(b)
	buf := make([]byte, 4096)
	b.SetBytes(4096)
	var off int64
	for b.Loop() {
		if _, err := syscall.Pwrite(int(f.Fd()), buf, off); err != nil {
			b.Fatal(err)
		}
		off = (off + 4096) % benchFileSize
	}
}

func BenchmarkTmpfsCreateUnlink(b *testing.B) {
	p := tmpfsDir(b) + "/file"
	for b.Loop() {
		fd, err := syscall.Open(p, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		syscall.Close(fd)
		if err := syscall.Unlink(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTmpfsLookup(b *testing.B) {
	dir := tmpfsDir(b)
	names := make([]string, 10000)
	for i := range names {
		names[i] = fmt.Sprintf("%s/entry-%05d", dir, i)
		if err := os.WriteFile(names[i], nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var st syscall.Stat_t
	i := 0
	for b.Loop() {
		if err := syscall.Lstat(names[i], &st); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(names)
	}
}
