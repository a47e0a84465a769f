package emul

import (
	"strings"
	"testing"
)

func TestMountTablePath(t *testing.T) {
	for _, c := range []struct {
		path string
		kind mountTableKind
		pid  int
	}{
		{"/proc/self/mountinfo", tabMountinfo, -1},
		{"/proc/thread-self/mountinfo", tabMountinfo, -1},
		{"/proc/self/mounts", tabMounts, -1},
		{"/proc/mounts", tabMounts, -1},
		{"/proc//self/./mountinfo", tabMountinfo, -1},
		{"/proc/self/mountstats", tabMountstats, -1},
		{"/proc/42/mountinfo", tabMountinfo, 42},
		{"/proc/42/task/43/mounts", tabMounts, 42},
		{"/proc/self/task/43/mountinfo", tabMountinfo, -1},
		{"/proc/thread-self/task/43/mountinfo", notMountTable, 0},
		{"/proc/042/mountinfo", notMountTable, 0},
		{"/proc/x/mountinfo", notMountTable, 0},
		{"/proc/self/status", notMountTable, 0},
		{"/proc/self/fd/3", notMountTable, 0},
		{"/proc/42/task/x/mountinfo", notMountTable, 0},
		{"/proc/42/fd/3/mountinfo", notMountTable, 0},
		{"/mnt/proc/self/mountinfo", notMountTable, 0},
		{"proc/self/mountinfo", notMountTable, 0},
	} {
		kind, pid, _ := mountTablePath(c.path)
		if kind != c.kind || pid != c.pid {
			t.Errorf("mountTablePath(%q) = %v, %d; want %v, %d", c.path, kind, pid, c.kind, c.pid)
		}
	}
}

// A table as the isolated namespace shows it: / on ext4, /dev/shm a tmpfs,
// the mount path /dev/shm/w a read-only bind of the host directory with a
// mount below it (an rbind's copy), and /srv/a b (a space) bound too.
const sampleMountinfo = `22 1 254:0 / / rw,relatime master:1 - ext4 /dev/vda rw
30 22 0:27 / /dev/shm rw,nosuid,nodev master:5 - tmpfs tmpfs rw,size=100k
40 30 0:27 /w /dev/shm/w ro,nosuid,nodev,relatime master:5 - tmpfs tmpfs rw,size=100k
41 40 0:50 / /dev/shm/w/sub rw - tmpfs tmpfs rw
45 22 254:0 /srv/a\040b /srv/a\040b ro,relatime - ext4 /dev/vda rw
50 22 0:60 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
`

var sampleMounts = []tableMount{
	{path: "/dev/shm/w", minor: 200, opts: "size=1024k,mode=755"},
	{path: "/dev/shm/w/in", minor: 201, opts: "size=2048k"},
	{path: "/srv/a b", minor: 202, opts: "size=4k,nr_inodes=10,uid=1000,gid=1000"},
	{path: "/new", minor: 203, opts: "size=8k"},
}

func TestRewriteMountinfo(t *testing.T) {
	got := string(rewriteMountinfo([]byte(sampleMountinfo), sampleMounts))
	want := `22 1 254:0 / / rw,relatime master:1 - ext4 /dev/vda rw
30 22 0:27 / /dev/shm rw,nosuid,nodev master:5 - tmpfs tmpfs rw,size=100k
40 30 0:200 / /dev/shm/w rw,relatime master:5 - tmpfs fsshim rw,size=1024k,mode=755
45 22 0:202 / /srv/a\040b rw,relatime - tmpfs fsshim rw,size=4k,nr_inodes=10,uid=1000,gid=1000
50 22 0:60 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
51 40 0:201 / /dev/shm/w/in rw,relatime - tmpfs fsshim rw,size=2048k
52 22 0:203 / /new rw,relatime - tmpfs fsshim rw,size=8k
`
	if got != want {
		t.Errorf("rewriteMountinfo:\n%s\nwant:\n%s", got, want)
	}
}

func TestRewriteMounts(t *testing.T) {
	in := `/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,nosuid,nodev,size=100k 0 0
tmpfs /dev/shm/w tmpfs ro,nosuid,nodev,relatime,size=100k 0 0
tmpfs /dev/shm/w/sub tmpfs rw 0 0
/dev/vda /srv/a\040b ext4 ro,relatime 0 0
`
	got := string(rewriteMounts([]byte(in), sampleMounts))
	want := `/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,nosuid,nodev,size=100k 0 0
fsshim /dev/shm/w tmpfs rw,relatime,size=1024k,mode=755 0 0
fsshim /srv/a\040b tmpfs rw,relatime,size=4k,nr_inodes=10,uid=1000,gid=1000 0 0
fsshim /dev/shm/w/in tmpfs rw,relatime,size=2048k 0 0
fsshim /new tmpfs rw,relatime,size=8k 0 0
`
	if got != want {
		t.Errorf("rewriteMounts:\n%s\nwant:\n%s", got, want)
	}
}

func TestRewriteMountstats(t *testing.T) {
	in := "device /dev/vda mounted on / with fstype ext4\n" +
		"device tmpfs mounted on /dev/shm/w with fstype tmpfs\n" +
		"device server:/x mounted on /nfs with fstype nfs4 statvers=1.1\n" +
		"\topts:\trw\n"
	got := string(rewriteMountstats([]byte(in), sampleMounts[:1]))
	want := "device /dev/vda mounted on / with fstype ext4\n" +
		"device fsshim mounted on /dev/shm/w with fstype tmpfs\n" +
		"device server:/x mounted on /nfs with fstype nfs4 statvers=1.1\n" +
		"\topts:\trw\n"
	if got != want {
		t.Errorf("rewriteMountstats:\n%s\nwant:\n%s", got, want)
	}
}

func TestMountEscape(t *testing.T) {
	for _, p := range []string{"/a", "/a b", "/t\tab", "/n\nl", `/back\slash`, `/\040`} {
		e := mountEscape(p)
		if strings.ContainsAny(e, " \t\n") {
			t.Errorf("mountEscape(%q) = %q keeps a separator", p, e)
		}
		if u := mountUnescape(e); u != p {
			t.Errorf("mountUnescape(mountEscape(%q)) = %q", p, u)
		}
	}
	if got := mountEscape("/a b\\"); got != `/a\040b\134` {
		t.Errorf("mountEscape = %q", got)
	}
}
