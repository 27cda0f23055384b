package accounts

import (
	"context"
	"errors"
	"net"
)

// bucket is one throttle window an attempt draws from.
type bucket struct {
	kind, subject string
	limit         int
}

// Throttle kinds.
const (
	kindIP        = "login-ip"         // one network, all accounts
	kindAccountIP = "login-account-ip" // one account from one network
	kindAccount   = "login-account"    // one account, all networks
	kindDevice    = "login-device"     // one device token
	kindSession   = "password-session" // password changes of one session
)

// reserve takes one attempt from each bucket in order. When one is spent it gives back what it
// took and returns a *ThrottledError; when Redis cannot tell, session.ErrUnavailable (fail
// closed). On success it returns the buckets taken.
func (s *Service) reserve(ctx context.Context, bs ...bucket) ([]bucket, error) {
	for i, b := range bs {
		r, err := s.Throttle.Reserve(ctx, b.kind, b.subject, b.limit, s.limits().Window)
		if err == nil && !r.OK {
			err = &ThrottledError{RetryAfter: r.RetryAfter, limit: b.kind, repeat: !r.First}
		}
		if err != nil {
			s.release(ctx, bs[:i], false)
			return nil, err
		}
	}
	return bs, nil
}

// release gives reserved attempts back: after a success (which also clears the account's
// window for this network) or after a failure that was not a wrong password (Redis, hashing
// capacity), so that an outage cannot lock accounts. It reports the first failure.
func (s *Service) release(ctx context.Context, bs []bucket, success bool) error {
	var errs []error
	for _, b := range bs {
		errs = append(errs, s.Throttle.Release(ctx, b.kind, b.subject, success && b.kind == kindAccountIP))
	}
	return errors.Join(errs...)
}

// Network is the throttling unit of a client address: the address itself for IPv4, its /64 for
// IPv6 (which one host usually owns); anything unparsable is used as given.
func Network(ip string) string {
	a := net.ParseIP(ip)
	if a == nil || a.To4() != nil {
		return ip
	}
	return (&net.IPNet{IP: a.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
