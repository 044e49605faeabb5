package netdev

// Netns is an open network namespace. The zero path stands for the
// namespace of the calling thread and holds no file descriptor.
type Netns struct {
	path string
	fd   int // -1 for the caller's namespace
}

// Path is the path the namespace was opened with.
func (n *Netns) Path() string { return n.path }
