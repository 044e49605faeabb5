package perf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// iperfPort is the server's port (inside the receiver's namespace, so no
// clash with anything on the host).
const iperfPort = "5201"

// runIperf measures TCP from the sender's namespace to the receiver's with
// iperf3 (server and client pinned to cpu), for secs seconds after omit
// seconds of warm-up.
func runIperf(ctx context.Context, t *topo, secs, omit, cpu int) (*TCPResult, error) {
	return runIperfStreams(ctx, t, secs, omit, cpu, 1)
}

// runIperfStreams is runIperf with streams parallel TCP connections
// (iperf3 -P); the result is their sum.
func runIperfStreams(ctx context.Context, t *topo, secs, omit, cpu, streams int) (*TCPResult, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs+omit+30)*time.Second)
	defer cancel()
	c := strconv.Itoa(cpu)
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", t.rcv.nsName,
		"iperf3", "-s", "-1", "--forceflush", "-p", iperfPort, "-B", rcvIP.String(), "-A", c)
	out, err := srv.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var srvErr strings.Builder
	srv.Stderr = &srvErr
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("perf: start iperf3 server: %w", err)
	}
	defer func() {
		srv.Process.Kill() // our child; a no-op once it exited
		srv.Wait()
	}()
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && strings.Contains(sc.Text(), "listening") {
				ok = true
				listening <- true
			}
		}
		if !ok {
			listening <- false
		}
	}()
	select {
	case ok := <-listening:
		if !ok {
			return nil, fmt.Errorf("perf: iperf3 server exited: %s", srvErr.String())
		}
	case <-time.After(5 * time.Second):
		return nil, errors.New("perf: iperf3 server did not start listening in 5s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	cli := exec.CommandContext(ctx, "ip", "netns", "exec", t.snd.nsName,
		"iperf3", "-c", rcvIP.String(), "-p", iperfPort, "-t", strconv.Itoa(secs), "-O", strconv.Itoa(omit), "-P", strconv.Itoa(streams), "-J", "-A", c)
	js, err := cli.Output()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res, perr := parseIperf(js)
	if perr != nil {
		return nil, errors.Join(fmt.Errorf("perf: iperf3 client: %w", err), perr)
	}
	return res, nil
}
