package pipeline

import (
	"errors"
	"fmt"
)

// Graph is a validated set of nodes with their next nodes resolved to
// indices. It is immutable and shared by all workers.
type Graph struct {
	specs []NodeSpec
	next  [][]int32
	index map[string]int
}

// ErrGraph is wrapped by every graph construction error.
var ErrGraph = errors.New("pipeline: invalid graph")

// NewGraph checks the specs (unique non-empty names, known next nodes,
// constructors present, at most 0xFFFD next nodes) and resolves names.
func NewGraph(specs ...NodeSpec) (*Graph, error) {
	g := &Graph{specs: specs, index: make(map[string]int, len(specs))}
	for i, s := range specs {
		if s.Name == "" {
			return nil, fmt.Errorf("%w: node %d has no name", ErrGraph, i)
		}
		if _, dup := g.index[s.Name]; dup {
			return nil, fmt.Errorf("%w: node %q declared twice", ErrGraph, s.Name)
		}
		if s.New == nil {
			return nil, fmt.Errorf("%w: node %q has no constructor", ErrGraph, s.Name)
		}
		if len(s.Next) >= int(NextTaken) || len(s.Drops) > 0xFFFF {
			return nil, fmt.Errorf("%w: node %q has too many next nodes or drop reasons", ErrGraph, s.Name)
		}
		g.index[s.Name] = i
	}
	g.next = make([][]int32, len(specs))
	for i, s := range specs {
		g.next[i] = make([]int32, len(s.Next))
		for j, n := range s.Next {
			k, ok := g.index[n]
			if !ok {
				return nil, fmt.Errorf("%w: node %q: unknown next node %q", ErrGraph, s.Name, n)
			}
			g.next[i][j] = int32(k)
		}
	}
	return g, nil
}

// Index returns the index of the named node.
func (g *Graph) Index(name string) (int, bool) {
	i, ok := g.index[name]
	return i, ok
}

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.specs) }

// Spec returns node i's declaration.
func (g *Graph) Spec(i int) NodeSpec { return g.specs[i] }

// NextIndex returns the position of next in node's next list, for nodes that
// want to look it up by name when they are constructed.
func (g *Graph) NextIndex(node, next string) (uint16, bool) {
	i, ok := g.index[node]
	if !ok {
		return 0, false
	}
	for j, n := range g.specs[i].Next {
		if n == next {
			return uint16(j), true
		}
	}
	return 0, false
}
