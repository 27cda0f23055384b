package tickets

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// SessionChecker tells which sessions are still signed in; the janitor ends the holds of the
// others. It returns one answer per session, in order.
type SessionChecker interface {
	Alive(ctx context.Context, sessions []SessionRef) ([]bool, error)
}

// SessionMover is implemented by a SessionChecker that also knows where a password change
// moved a session (it lives on under a new id). A session reported gone that was moved has its
// holds moved to the new id instead of ended: a janitor round that runs between a password
// change and the request's own move of the holds would otherwise end the caller's holds.
type SessionMover interface {
	// MovedTo returns the id session s was moved to, or "" when it was not moved (or the
	// record of the move has lapsed).
	MovedTo(ctx context.Context, s SessionRef) (string, error)
}

// Janitor tidies holds and orders in the background: it marks expired holds (correctness
// never waits for it: an expired hold's seats are free the moment its deadline passes), settles
// pending orders whose payment is overdue or whose request crashed, sends refunds that were
// recorded but not sent, and ends the holds of sessions that ended without telling us (a crash
// between a logout and the release, a session evicted or expired in Redis). Every instance may
// run one.
type Janitor struct {
	Service  *Service      // its Config.Sessions, when set, is the session check
	Interval time.Duration // between rounds, and each step's deadline in a round; default DefaultJanitorInterval
	// SweepInterval is how often expired holds are marked expired, between rounds too, so that
	// live seat maps show their seats free soon after the deadline; default
	// DefaultSweepInterval (at most Interval).
	SweepInterval time.Duration
	Batch         int // holds, orders, refunds or sessions per step and round; default 500
	Logger        *slog.Logger

	after SessionRef // where the next round's session check starts; it wraps at the end
}

// Defaults of Janitor's zero fields (exported so that configuration loaders and their
// documentation state the same values).
const (
	DefaultJanitorInterval = 5 * time.Second
	DefaultSweepInterval   = time.Second
)

// defaultBatch is Janitor.Batch when it is zero.
const defaultBatch = 500

// Run tidies every Interval until ctx ends.
func (j *Janitor) Run(ctx context.Context) {
	if j.Interval <= 0 {
		j.Interval = DefaultJanitorInterval
	}
	if j.Batch <= 0 {
		j.Batch = defaultBatch
	}
	if j.SweepInterval <= 0 {
		j.SweepInterval = DefaultSweepInterval
	}
	j.SweepInterval = min(j.SweepInterval, j.Interval)
	t := time.NewTicker(j.Interval)
	defer t.Stop()
	sweep := time.NewTicker(j.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			sctx, cancel := context.WithTimeout(ctx, j.Interval)
			_, err := j.Service.store.Sweep(sctx, j.Batch)
			cancel()
			if err != nil && ctx.Err() == nil && j.Logger != nil {
				j.Logger.Warn("sweeping expired holds failed; the next sweep retries", "err", err)
			}
		case <-t.C:
			if err := j.Once(ctx); err != nil && ctx.Err() == nil && j.Logger != nil {
				j.Logger.Warn("ticket janitor round failed in part; the next round retries", "err", err)
			}
		}
	}
}

// Once runs one round: expiry, stalled orders (settled with the provider), refunds not yet
// sent, then the session check; every step runs even when another failed. It returns their
// errors joined.
func (j *Janitor) Once(ctx context.Context) error {
	batch := j.Batch
	if batch <= 0 {
		batch = defaultBatch
	}
	// Each step runs whatever the others did, with a deadline of its own (Interval): a provider
	// that fails or hangs on one order must not keep expired holds or dead sessions' seats from
	// being freed.
	budget := j.Interval
	if budget <= 0 {
		budget = DefaultJanitorInterval
	}
	step := func(f func(context.Context) error) error {
		sctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		return f(sctx)
	}
	sweepErr := step(func(ctx context.Context) error { _, err := j.Service.store.Sweep(ctx, batch); return err })
	settleErr := step(func(ctx context.Context) error { _, err := j.Service.settleStalled(ctx, batch); return err })
	refundErr := step(func(ctx context.Context) error { _, err := j.Service.sendPendingRefunds(ctx, batch); return err })
	sessionErr := step(func(ctx context.Context) error {
		last, err := j.Service.endDeadSessions(ctx, "", j.after, batch)
		j.after = last // the zero SessionRef after the last page: start again from the top
		return err
	})
	return errors.Join(sweepErr, settleErr, refundErr, sessionErr)
}

// endDeadSessions ends the active holds whose sessions Config.Sessions reports gone: those of
// userID's sessions, or (userID empty) of up to limit sessions after the given one. It returns
// the last session it checked when it checked a full page (the zero SessionRef otherwise).
func (s *Service) endDeadSessions(ctx context.Context, userID string, after SessionRef, limit int) (SessionRef, error) {
	if s.cfg.Sessions == nil {
		return SessionRef{}, nil
	}
	sids, err := s.store.HoldSessions(ctx, userID, after, limit)
	if err != nil || len(sids) == 0 {
		return SessionRef{}, err
	}
	var last SessionRef
	if limit > 0 && len(sids) == limit {
		last = sids[len(sids)-1]
	}
	alive, err := s.cfg.Sessions.Alive(ctx, sids)
	if err != nil {
		return after, err // check the same page next time
	}
	var dead []string
	mover, _ := s.cfg.Sessions.(SessionMover)
	for i, ref := range sids {
		if i >= len(alive) || alive[i] {
			continue
		}
		if mover != nil {
			to, err := mover.MovedTo(ctx, ref)
			if err != nil {
				return after, err
			}
			if to != "" {
				if err := s.MoveSession(ctx, ref.SessionID, to); err != nil {
					return after, err
				}
				continue
			}
		}
		dead = append(dead, ref.SessionID)
	}
	if _, err := s.EndSessions(ctx, dead...); err != nil {
		return after, err
	}
	return last, nil
}
