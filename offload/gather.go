package offload

// gather reads a frame held in pieces sequentially. It keeps its position,
// so reading all segments of a frame walks the pieces once.
type gather struct {
	frags [][]byte
	i     int // current piece
	off   int // offset in it
}

// skip advances by n bytes; the caller knows they exist.
func (g *gather) skip(n int) {
	for n > 0 && g.i < len(g.frags) {
		k := min(len(g.frags[g.i])-g.off, n)
		n -= k
		g.off += k
		if g.off == len(g.frags[g.i]) {
			g.i++
			g.off = 0
		}
	}
}

// read fills p from the current position and advances; the caller knows
// len(p) bytes exist.
func (g *gather) read(p []byte) {
	for len(p) > 0 && g.i < len(g.frags) {
		k := copy(p, g.frags[g.i][g.off:])
		p = p[k:]
		g.off += k
		if g.off == len(g.frags[g.i]) {
			g.i++
			g.off = 0
		}
	}
}

// totalLen is the length of the frame held in frags.
func totalLen(frags [][]byte) int {
	n := 0
	for _, f := range frags {
		n += len(f)
	}
	return n
}
