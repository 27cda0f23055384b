package auth

import (
	"sync"
	"time"
)

// verifiedCache remembers access tokens that passed verification, keyed by their exact text.
//
// It is a positive cache only: a string is found only if that very string verified, so a token
// spelled differently simply misses and is verified in full. Verify admits only canonical
// compact serialisations (base64url alphabet, strict decoding: zero trailing bits), so every
// token has one spelling. Entries are used only while the token is unexpired (with the same
// leeway as the parser); the session behind the token is still checked in Redis on every
// request, so caching never extends what a revoked session can do.
type verifiedCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]Claims
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, m: make(map[string]Claims, max)}
}

// get returns the claims of raw if it verified before and its expiry is after notBefore.
func (c *verifiedCache) get(raw string, notBefore time.Time) (Claims, bool) {
	if c == nil {
		return Claims{}, false
	}
	c.mu.RLock()
	cl, ok := c.m[raw]
	c.mu.RUnlock()
	if !ok || !cl.ExpiresAt.After(notBefore) {
		return Claims{}, false
	}
	return cl, true
}

// put stores verified claims; when full it first evicts about an eighth of the entries, in
// Go's random map order.
func (c *verifiedCache) put(raw string, cl Claims) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		drop := max(c.max/8, 1)
		for k := range c.m {
			delete(c.m, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.m[raw] = cl
}
