//go:build !linux

package pipeline

// Pollable is an optional RxQueue capability (see the Linux build); other
// systems always sleep when idle.
type Pollable interface {
	PollFD() int
}

type idler struct{}

func newIdler() (*idler, error)           { return nil, nil }
func (i *idler) kick()                    {}
func (i *idler) wait(*PollList, int) bool { return false }
func (i *idler) close()                   {}
