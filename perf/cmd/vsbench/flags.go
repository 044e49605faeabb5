package main

import (
	"strconv"
	"time"
)

// seconds is a duration flag that also takes a plain number of seconds
// ("5" as well as "5s" or "1500ms").
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }

func (s *seconds) Set(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		*s = seconds(f * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	*s = seconds(d)
	return err
}
