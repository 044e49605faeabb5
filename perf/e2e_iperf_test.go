package perf

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseIperf(t *testing.T) {
	r, err := parseIperf([]byte(`{"start":{"version":"iperf 3.12"},"intervals":[],
		"end":{"sum_sent":{"seconds":5,"bytes":6250000000,"bits_per_second":1.0e10,"retransmits":7},
		"sum_received":{"seconds":5.0004,"bytes":6249000000,"bits_per_second":9.998e9}}}`))
	require.NoError(t, err)
	require.Equal(t, &TCPResult{Seconds: 5.0004, Gbps: 9.998, Retransmits: 7}, r)

	_, err = parseIperf([]byte(`{"start":{},"intervals":[],"end":{},"error":"unable to connect to server: Connection refused"}`))
	require.ErrorContains(t, err, "Connection refused")
	_, err = parseIperf([]byte(`{"end":{}}`))
	require.Error(t, err)
	_, err = parseIperf([]byte(`iperf3: error`))
	require.Error(t, err)
}
