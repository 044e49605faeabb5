package perf

import (
	"encoding/json"
	"errors"
	"fmt"
)

// parseIperf reads the figures from iperf3's -J report.
func parseIperf(js []byte) (*TCPResult, error) {
	var rep struct {
		Error string `json:"error"`
		End   struct {
			SumSent struct {
				Retransmits int `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				Seconds       float64 `json:"seconds"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		return nil, fmt.Errorf("iperf3 report: %w", err)
	}
	if rep.Error != "" {
		return nil, fmt.Errorf("iperf3: %s", rep.Error)
	}
	r := rep.End.SumReceived
	if r.Seconds == 0 {
		return nil, errors.New("iperf3 report has no received sum")
	}
	return &TCPResult{Seconds: r.Seconds, Gbps: r.BitsPerSecond / 1e9, Retransmits: rep.End.SumSent.Retransmits}, nil
}
