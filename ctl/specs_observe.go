package ctl

// observeSpecs are the trace and capture commands' specs.
var observeSpecs = []Spec{
	{Name: "trace/add", Usage: "PORT COUNT [mac=MAC] [ip=ADDR] [proto=arp|ipv4|ipv6|icmp|icmp6|tcp|udp|N] [port=N]",
		Help: "trace the next COUNT packets received on PORT (that match the filter): each node they pass and what it decided", MinArgs: 2, MaxArgs: 6},
	{Name: "trace/show", Help: "the traced packets: decoded headers, then node by node", Read: true},
	{Name: "trace/clear", Help: "stop tracing and forget the traced packets"},
	{Name: "capture/start", Usage: "PORT [rx|tx|both] [file=NAME] [max=PACKETS] [size=BYTES] [snaplen=N] [drops=on] [filter...]",
		Help: "write PORT's packets to a new pcapng file NAME (a plain name, default PORT-TIME.pcapng) in the daemon's capture directory (vswitchd --capture-dir), never over an existing file; capture/show names the path. Open it in Wireshark or tshark; drops=on adds frames dropped after entering on PORT, with the reason as comment", MinArgs: 1, MaxArgs: 11},
	{Name: "capture/stop", Help: "stop the capture and close its file", Read: false},
	{Name: "capture/show", Help: "the running capture: file, packets written, lost (running false when none runs)", Read: true},
}

func init() { Specs = append(Specs, observeSpecs...) }
