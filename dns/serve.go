package dns

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// TCPIdleTimeout closes a TCP client that sends nothing for this long
// (RFC 7766 suggests seconds, not minutes).
const TCPIdleTimeout = 10 * time.Second

// Serve answers the queries that arrive on conn for network until conn
// is closed, then returns nil (or the read error that stopped it). It is
// the socket form of the punt path: tests, and a fallback where packets
// are not punted. Forwarded answers may still be written after Serve
// returns, until Close; their write errors are ignored.
func (r *Resolver) Serve(network string, conn *net.UDPConn) error {
	buf := make([]byte, mdns.MaxMsgSize)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return err
			}
			continue // e.g. ICMP port unreachable reported on the socket
		}
		r.Handle(network, buf[:n], UDP, func(resp []byte) {
			conn.WriteToUDPAddrPort(resp, from)
		})
	}
}

// ServeTCP answers DNS over TCP (RFC 7766: length-prefixed messages,
// several per connection, answered in order) on ln for network until ln
// is closed. It then closes the connections it still has, waits for
// their goroutines and returns nil.
func (r *Resolver) ServeTCP(network string, ln net.Listener) error {
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.serveConn(network, c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

// serveConn answers one TCP client until it goes quiet, closes or sends
// something that is not a DNS message.
func (r *Resolver) serveConn(network string, c net.Conn) {
	q := make([]byte, mdns.MaxMsgSize)
	out := make([]byte, 2+mdns.MaxMsgSize)
	for {
		c.SetReadDeadline(time.Now().Add(TCPIdleTimeout))
		if _, err := io.ReadFull(c, q[:2]); err != nil {
			return
		}
		l := int(binary.BigEndian.Uint16(q))
		if _, err := io.ReadFull(c, q[:l]); err != nil {
			return
		}
		n, reason := r.Resolve(r.ctx, network, q[:l], out[2:], TCP)
		if reason == Dropped {
			return // no reply means the stream would desynchronize
		}
		binary.BigEndian.PutUint16(out, uint16(n))
		c.SetWriteDeadline(time.Now().Add(TCPIdleTimeout))
		if _, err := c.Write(out[:2+n]); err != nil {
			return
		}
	}
}
