package dpdktest

import "testing"

// TestHasPrompt: the prompt is found when a log line from another of
// testpmd's threads landed inside it (the CI output that failed
// TestTestpmdHandover), and not found when it is not there.
func TestHasPrompt(t *testing.T) {
	for _, c := range []struct {
		out  string
		want bool
	}{
		{"Device error handling mode: none\ntestpmd> ", true},
		{"Device error handling mode: none\ntesvirtio_user_dev_delayed_disconnect_handler(): interrupt unregister failed\ntpmd> virtio_user_dev_delayed_disconnect_handler(): interrupt unregister failed\n", true},
		{"testp\nPort 0: link state change event\nmd> ", true},
		{"Device error handling mode: none\ntes", false},
		{"show port info 0\n\nPort 0: link state change event\nvhost_user_update_link_state(): virtio-user port 0 is down\n", false},
		{"testpmd>", false},
	} {
		if got := hasPrompt(c.out); got != c.want {
			t.Errorf("hasPrompt(%q) = %v, want %v", c.out, got, c.want)
		}
	}
}
