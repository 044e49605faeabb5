package ctl

// observeSpecs are the trace and capture commands' specs.
var observeSpecs = []Spec{
	{Name: "trace/add", Usage: "PORT COUNT [mac=MAC] [ip=ADDR] [proto=arp|ipv4|ipv6|icmp|icmp6|tcp|udp|N] [port=N]",
		Help: "trace the next COUNT packets received on PORT (that match the filter): each node they pass and what it decided. A new trace/add replaces the trace before it and forgets its packets (trace/show them first); removing PORT ends the trace and keeps what it recorded", MinArgs: 2, MaxArgs: 6},
	{Name: "trace/show", Help: "the traced packets: decoded headers, then node by node", Read: true},
	{Name: "trace/clear", Help: "stop tracing and forget the traced packets"},
	{Name: "capture/start", Usage: "PORT [rx|tx|both] [file=NAME] [max=PACKETS] [size=BYTES] [snaplen=N] [drops=on] [mac=MAC] [ip=ADDR] [proto=arp|ipv4|ipv6|icmp|icmp6|tcp|udp|N] [port=N]",
		Help: "write PORT's packets (those that match the filter mac= ip= proto= port=, as trace/add's) to a new pcapng file NAME (a plain name, default PORT-TIME.pcapng) in the daemon's capture directory (vswitchd --capture-dir), never over an existing file; capture/show names the path. Open it in Wireshark or tshark; drops=on adds frames dropped after entering on PORT, with the reason as comment; snaplen= cuts frames (14 to 65535, default 65535: whole frames, 64 KiB ones included). The capture ends by itself at max= packets (default 100000), at size= bytes (default 1 GiB) or when PORT is removed: its file is closed and capture/show says why; a new capture/start may follow", MinArgs: 1, MaxArgs: 11},
	{Name: "capture/stop", Help: "stop the capture and close its file (or forget one that ended by itself)", Read: false},
	{Name: "capture/show", Help: "the capture: file, packets written, lost; running false when none runs, and with done: why a capture ended by itself", Read: true},
}

func init() { Specs = append(Specs, observeSpecs...) }
