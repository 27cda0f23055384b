package auth

// This file exposes test hooks to the external auth_test package. It is compiled only for tests.

// HoldHashSlots occupies n of p's hashing slots, as n hashes in progress would, and returns a
// function that frees them again. It lets tests exercise the concurrency bound deterministically,
// without racing a slow hash. It blocks if fewer than n slots are free.
func HoldHashSlots(p *Passwords, n int) (release func()) {
	for range n {
		p.slots <- struct{}{}
	}
	return func() {
		for range n {
			<-p.slots
		}
	}
}

// HashSlots reports how many hashes p runs at once.
func HashSlots(p *Passwords) int { return cap(p.slots) }
