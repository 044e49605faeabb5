package dns

import (
	"context"
	"strings"

	mdns "github.com/miekg/dns"
)

// Handle answers query, sent by a client of network over tr, and calls
// reply with the response: before Handle returns for a local answer,
// later from a goroutine the Resolver owns for a forwarded one (bounded
// by Config.MaxInflight; Close waits for them). reply is not called for
// a dropped query and must not keep resp. query may be reused as soon
// as Handle returns. This is the entry point for the switch's punt path
// and for Serve.
func (r *Resolver) Handle(network string, query []byte, tr Transport, reply func(resp []byte)) {
	out := make([]byte, r.outSize(tr))
	n, reason, p := r.answer(network, query, out, tr)
	if reason != Forwarded {
		r.count(reason)
		if reason != Dropped {
			reply(out[:n])
		}
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		n, reason = r.servfail(p, out, ForwardFailed)
		r.count(reason)
		reply(out[:n])
		return
	}
	select {
	case r.sem <- struct{}{}:
	default:
		r.mu.Unlock()
		n, reason = r.servfail(p, out, ForwardBusy)
		r.count(reason)
		reply(out[:n])
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		n, reason := r.forward(r.ctx, p, out)
		// The slot is free before the reply goes: a client that asks
		// again as soon as it has its answer finds it free.
		<-r.sem
		r.count(reason)
		reply(out[:n])
	}()
}

func (r *Resolver) outSize(tr Transport) int {
	if tr == TCP {
		return mdns.MaxMsgSize
	}
	return r.cfg.UDPSize
}

// forward sends p to the zone's upstreams in order and relays the first
// usable response; SERVFAIL if none answers. It takes the exchange's own
// ID so the client's ID never leaves the host.
func (r *Resolver) forward(ctx context.Context, p *pending, out []byte) (int, Reason) {
	if p == nil {
		return 0, Dropped
	}
	up := p.msg.Copy()
	up.Id = mdns.Id()
	var resp *mdns.Msg
	for _, addr := range p.zone.upstreams {
		if ctx.Err() != nil {
			break
		}
		m := r.exchange(ctx, up, addr, "udp")
		if m != nil && m.Truncated && p.tr == TCP {
			m = r.exchange(ctx, up, addr, "tcp")
		}
		if m == nil {
			continue
		}
		resp = m
		if m.Rcode != mdns.RcodeServerFailure && m.Rcode != mdns.RcodeRefused {
			break
		}
	}
	if resp == nil {
		return r.servfail(p, out, ForwardFailed)
	}
	resp.Id = p.msg.Id
	// The client's question, in the client's letter case.
	resp.Question = []mdns.Question{p.msg.Question[0]}
	opt := p.msg.IsEdns0()
	extra := resp.Extra[:0]
	for _, rr := range resp.Extra {
		if o, ok := rr.(*mdns.OPT); ok {
			if opt == nil {
				continue // the client spoke no EDNS0: it gets no OPT
			}
			o.SetUDPSize(uint16(r.cfg.UDPSize))
		}
		extra = append(extra, rr)
	}
	resp.Extra = extra
	n, _, _ := r.pack(resp, out, p.limit, Forwarded)
	return n, Forwarded
}

// exchange asks one upstream, bounded by Config.UpstreamTimeout, and
// returns its response if it matches the question. The response is read
// whole, up to the largest DNS message, whatever size q's OPT
// advertises: an upstream may answer over UDP beyond the size it was
// told, and forward fits what it got to the client (truncated with TC
// for a UDP client, all of it for a TCP one). miekg/dns's Exchange reads
// into a buffer of the OPT's size, which cut such an answer short, so it
// failed to parse and the client got SERVFAIL.
func (r *Resolver) exchange(ctx context.Context, q *mdns.Msg, addr, network string) *mdns.Msg {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.UpstreamTimeout)
	defer cancel()
	c := &mdns.Client{Net: network, Timeout: r.cfg.UpstreamTimeout}
	co, err := c.DialContext(ctx, addr)
	if err != nil {
		return nil
	}
	defer co.Close()
	// A blocked read ends only at the socket's deadline, so a cancel
	// (Close) would wait out the timeout: closing the socket ends it at
	// once.
	stop := context.AfterFunc(ctx, func() { co.Close() })
	defer stop()
	deadline, _ := ctx.Deadline()
	if co.SetDeadline(deadline) != nil || co.WriteMsg(q) != nil {
		return nil
	}
	co.UDPSize = mdns.MaxMsgSize // the read buffer of a UDP answer
	var m *mdns.Msg
	for {
		if m, err = co.ReadMsg(); err != nil {
			return nil
		}
		if m.Id == q.Id {
			break
		}
		if network != "udp" {
			return nil
		}
		// UDP: a late answer to an earlier query from this port, or a
		// forgery; the one we wait for may still come.
	}
	if !m.Response || len(m.Question) != 1 {
		return nil
	}
	a, b := m.Question[0], q.Question[0]
	if a.Qtype != b.Qtype || a.Qclass != b.Qclass || !strings.EqualFold(a.Name, b.Name) {
		return nil
	}
	return m
}

// servfail answers p with SERVFAIL and counts nothing.
func (r *Resolver) servfail(p *pending, out []byte, reason Reason) (int, Reason) {
	resp := new(mdns.Msg)
	resp.SetRcode(p.msg, mdns.RcodeServerFailure)
	resp.RecursionAvailable = true
	if opt := p.msg.IsEdns0(); opt != nil {
		resp.SetEdns0(uint16(r.cfg.UDPSize), opt.Do())
	}
	n, _, _ := r.pack(resp, out, p.limit, reason)
	return n, reason
}
