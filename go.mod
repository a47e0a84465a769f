module fsshim

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.2.0
	github.com/elastic/go-seccomp-bpf v1.6.0
	github.com/spf13/pflag v1.1.0
	golang.org/x/net v0.41.0
	golang.org/x/sys v0.50.0
)
