package faketwilio

import (
	"fmt"
	"net/http"
	"time"
)

// FaultPlan makes a random share of message creates fail, as a loaded or
// degraded Twilio does. Each share is a probability from 0 to 1, drawn once
// per create request; the shares together must not exceed 1. Faults apply
// after authentication and validation, before the message is stored, except
// HangAccepted, which stores the message and answers only after Hang.
type FaultPlan struct {
	// Throttle answers 429 with Twilio's error 20429 and Retry-After: 1.
	Throttle float64
	// ServerError answers 500 with Twilio's error 20500.
	ServerError float64
	// Unavailable answers 503 with Twilio's error 20503.
	Unavailable float64
	// HangRefused holds the request for Hang and then answers 504 without
	// storing the message: past the client's timeout the client cannot tell
	// it from HangAccepted.
	HangRefused float64
	// HangAccepted stores the message and answers 201 only after Hang: the
	// client times out although the text went out.
	HangAccepted float64
	// Slow delays the normal answer by Latency.
	Slow float64
	// Hang is how long hung requests are held (default 12 s, past the relay's
	// 10 s attempt timeout).
	Hang time.Duration
	// Latency is the delay of Slow answers (default 500 ms).
	Latency time.Duration
}

// Validate reports a share outside 0..1 or shares summing above 1.
func (p FaultPlan) Validate() error {
	sum := 0.0
	for _, f := range []float64{p.Throttle, p.ServerError, p.Unavailable, p.HangRefused, p.HangAccepted, p.Slow} {
		if f < 0 || f > 1 {
			return fmt.Errorf("fault share %v is not between 0 and 1", f)
		}
		sum += f
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("fault shares add up to %.3f, more than 1", sum)
	}
	return nil
}

// FaultStats counts the faults a FaultPlan injected.
type FaultStats struct {
	Throttle, ServerError, Unavailable, HangRefused, HangAccepted, Slow int
}

// Total is the number of injected faults.
func (f FaultStats) Total() int {
	return f.Throttle + f.ServerError + f.Unavailable + f.HangRefused + f.HangAccepted + f.Slow
}

// SetFaults replaces the fault plan (the zero plan injects nothing) and
// resets its counters. It returns Validate's error and keeps the old plan
// then.
func (s *Server) SetFaults(p FaultPlan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Hang <= 0 {
		p.Hang = 12 * time.Second
	}
	if p.Latency <= 0 {
		p.Latency = 500 * time.Millisecond
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.faultStats = p, FaultStats{}
	return nil
}

// FaultStats returns what the fault plan injected so far.
func (s *Server) FaultStats() FaultStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faultStats
}

// applyFault draws the plan's fault for one create. It answers the request
// itself and returns proceed=false for a fault that stores nothing; hang > 0
// asks create to store the message and answer after hang.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) (proceed bool, hang time.Duration) {
	s.mu.Lock()
	p := s.faults
	x := s.rand()
	kind := ""
	for _, c := range []struct {
		share float64
		name  string
	}{{p.Throttle, "429"}, {p.ServerError, "500"}, {p.Unavailable, "503"}, {p.HangRefused, "hang"},
		{p.HangAccepted, "hang-accepted"}, {p.Slow, "slow"}} {
		if x < c.share {
			kind = c.name
			break
		}
		x -= c.share
	}
	switch kind {
	case "429":
		s.faultStats.Throttle++
	case "500":
		s.faultStats.ServerError++
	case "503":
		s.faultStats.Unavailable++
	case "hang":
		s.faultStats.HangRefused++
	case "hang-accepted":
		s.faultStats.HangAccepted++
	case "slow":
		s.faultStats.Slow++
	}
	s.mu.Unlock()
	switch kind {
	case "429":
		s.writeFailure(w, Failure{Status: http.StatusTooManyRequests, Code: 20429, Message: "Too Many Requests",
			Header: http.Header{"Retry-After": {"1"}}})
		return false, 0
	case "500":
		s.writeFailure(w, Failure{Status: http.StatusInternalServerError, Code: 20500, Message: "Internal Server Error"})
		return false, 0
	case "503":
		s.writeFailure(w, Failure{Status: http.StatusServiceUnavailable, Code: 20503, Message: "Service Unavailable"})
		return false, 0
	case "hang":
		if s.wait(r.Context(), p.Hang) {
			s.writeFailure(w, Failure{Status: http.StatusGatewayTimeout, Code: 20504, Message: "Gateway Timeout"})
		}
		return false, 0
	case "hang-accepted":
		return true, p.Hang
	case "slow":
		if !s.wait(r.Context(), p.Latency) {
			return false, 0
		}
	}
	return true, 0
}
