package postmark

// mt is the 32-bit Mersenne Twister (MT19937) in the form PostMark 1.5x
// links in: the 1999 reference release, seeded by the older "sgenrand"
// routine, which fills the state from Knuth's linear congruential generator
// x' = 69069x + 1 taking the high 16 bits of two successive values per word
// (not the 2002 init_genrand seeding that most libraries use today).
//
// PostMark keeps the state in C "unsigned long"s, which are 64-bit on
// x86-64 Linux, but every store is masked to 32 bits, so a uint32 state
// reproduces it exactly.
type mt struct {
	state [mtN]uint32
	idx   int
}

const (
	mtN       = 624
	mtM       = 397
	mtMatrixA = 0x9908b0df
	mtUpper   = 0x80000000
	mtLower   = 0x7fffffff
)

// newMT returns a generator seeded as sgenrand(seed) would seed it.
func newMT(seed uint32) *mt {
	g := &mt{}
	x := seed
	for i := range g.state {
		hi := x & 0xffff0000
		x = 69069*x + 1
		g.state[i] = hi | (x&0xffff0000)>>16
		x = 69069*x + 1
	}
	g.idx = mtN
	return g
}

// twist regenerates the whole state block.
func (g *mt) twist() {
	for k := 0; k < mtN; k++ {
		y := g.state[k]&mtUpper | g.state[(k+1)%mtN]&mtLower
		v := g.state[(k+mtM)%mtN] ^ y>>1
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		g.state[k] = v
	}
	g.idx = 0
}

// next returns the next tempered 32-bit output.
func (g *mt) next() uint32 {
	if g.idx >= mtN {
		g.twist()
	}
	y := g.state[g.idx]
	g.idx++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// rnd is PostMark's RND(x): a draw reduced modulo x when x > 0, and 0
// without consuming a draw otherwise.
func (g *mt) rnd(x int64) int64 {
	if x <= 0 {
		return 0
	}
	return int64(uint64(g.next()) % uint64(x))
}
