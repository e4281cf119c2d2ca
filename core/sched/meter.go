package sched

import (
	"math"
	"time"
)

// meter estimates a rate from bytes arriving at irregular times. It keeps
// the sum of all bytes, each weighted by exp(-age/rateWindow), where age
// counts only the time the meter was running. For a steady rate r that sum
// tends to r·rateWindow; dividing by rateWindow·(1-exp(-t/rateWindow)),
// t being the running time so far, makes the estimate right from the start
// instead of creeping up over the first window.
type meter struct {
	sum     float64
	elapsed float64 // seconds run
	last    time.Time
	running bool
}

// minElapsed keeps the estimate finite for bytes that arrive the instant
// a meter starts.
const minElapsed = 0.001

func (m *meter) advance(now time.Time) {
	if !now.After(m.last) {
		return
	}
	if m.running {
		dt := now.Sub(m.last).Seconds()
		m.sum *= math.Exp(-dt / rateWindow.Seconds())
		m.elapsed += dt
	}
	m.last = now
}

func (m *meter) run(on bool, now time.Time) {
	m.advance(now)
	m.running = on
}

func (m *meter) add(n int64, now time.Time) {
	m.advance(now)
	m.sum += float64(n)
}

// rate is the estimate in bytes per second.
func (m *meter) rate(now time.Time) float64 {
	m.advance(now)
	if m.sum == 0 {
		return 0
	}
	tau := rateWindow.Seconds()
	norm := -math.Expm1(-max(m.elapsed, minElapsed) / tau)
	return m.sum / (tau * norm)
}
