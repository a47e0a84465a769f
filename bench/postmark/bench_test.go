package postmark

import (
	"os"
	"testing"
)

// BenchmarkPostmarkRaw runs a small PostMark on tmpfs (/dev/shm) through
// Raw: the native-kernel reference for fsshim's transports.
func BenchmarkPostmarkRaw(b *testing.B) {
	for _, buffered := range []bool{false, true} {
		name := "unbuffered"
		if buffered {
			name = "buffered"
		}
		b.Run(name, func(b *testing.B) {
			if st, err := os.Stat("/dev/shm"); err != nil || !st.IsDir() {
				b.Skip("no /dev/shm")
			}
			dir, err := os.MkdirTemp("/dev/shm", "postmark-bench-")
			if err != nil {
				b.Skip(err)
			}
			b.Cleanup(func() { os.RemoveAll(dir) })
			cfg := DefaultConfig()
			cfg.Number, cfg.Transactions, cfg.Subdirectories = 200, 1000, 4
			cfg.Buffering, cfg.Location = buffered, dir
			var tx float64
			for b.Loop() {
				res, err := Run(Raw{}, cfg)
				if err != nil {
					b.Fatal(err)
				}
				tx += res.TransactionTime.Seconds()
			}
			b.ReportMetric(float64(b.N*cfg.Transactions)/tx, "tx/s")
		})
	}
}
