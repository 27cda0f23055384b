package api

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
)

// prefixed confines a Fiber middleware to its own keys in the shared storage, and refuses
// Reset, which in gofiber/storage/redis is FLUSHDB: it would erase every session.
type prefixed struct {
	fiber.Storage
	prefix string
}

func (p prefixed) Get(key string) ([]byte, error) { return p.Storage.Get(p.prefix + key) }
func (p prefixed) Set(key string, val []byte, exp time.Duration) error {
	return p.Storage.Set(p.prefix+key, val, exp)
}
func (p prefixed) Delete(key string) error { return p.Storage.Delete(p.prefix + key) }
func (p prefixed) Reset() error            { return errors.New("api: storage reset is disabled") }
func (p prefixed) Close() error            { return nil }
