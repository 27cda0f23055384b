package metrics

import "sync"

// bounded caches the series of a vector by key and caps how many distinct keys it creates:
// past max, every new key gets the series of the overflow key. It is the last guard against a
// bug that would put unbounded values into a label; callers normalise values first.
type bounded[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

// get returns the series of k, making it with mk(k) the first time; once max keys exist, a
// new key gets the series of overflow (made with mk(overflow) if needed).
func (b *bounded[K, V]) get(k, overflow K, mk func(K) V) V {
	b.mu.RLock()
	v, ok := b.m[k]
	b.mu.RUnlock()
	if ok {
		return v
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.m[k]; ok {
		return v
	}
	if b.m == nil {
		b.m = map[K]V{}
	}
	if len(b.m) >= b.max {
		k = overflow
		if v, ok := b.m[k]; ok {
			return v
		}
	}
	v = mk(k)
	b.m[k] = v
	return v
}

// pick returns v when allowed lists it, else "other": the labels fed from events and errors
// take only the values the code knows.
func pick(v string, allowed map[string]bool) string {
	if allowed[v] {
		return v
	}
	return "other"
}

// set makes an allow-list.
func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}
