package afpacket

// Handover is what another process needs, besides the queues' sockets,
// to adopt a running AF_PACKET port (vswitchd --takeover). JSON, for the
// takeover state.
type Handover struct {
	Ifname    string `json:"ifname"`
	Index     int    `json:"index"`
	Queues    int    `json:"queues"`
	BatchSize int    `json:"batch"`
	MaxFrame  int    `json:"max_frame"`
}
