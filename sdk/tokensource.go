package sdk

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// tokenSource holds a Client's tokens and serialises every change of them. At most one flight
// runs at a time: a refresh, whose waiters all take its outcome (single flight: N callers that
// need a refresh cause one POST /v1/auth/refresh), or an exclusive operation (Login, Logout,
// LogoutAll, ChangePassword), after which waiters look again. Calls that need no refresh read
// the tokens without waiting.
type tokenSource struct {
	exchange func(ctx context.Context, refreshToken string) (TokenResponse, error) // one refresh, retries included
	now      func() time.Time
	skew     time.Duration
	onTokens func(Tokens)

	mu     sync.Mutex
	tok    held
	recent [4]string // the access tokens tok replaced, newest first: answers to them are ours
	busy   *flight   // the flight in progress, nil when none
}

// held are the tokens of a source, with the access token's lifetime when the server gave it (0
// for resumed tokens).
type held struct {
	Tokens
	life time.Duration
}

// flight is a refresh or an exclusive operation in progress; done closes when it ended.
type flight struct {
	done    chan struct{}
	refresh bool
	grant   TokenResponse // a refresh's outcome, set before done closes
	err     error
}

// wait waits for f to end, and returns the refresh's error, or ctx's.
func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// begin starts a flight; s.mu is held and no flight runs.
func (s *tokenSource) begin(refresh bool) *flight {
	f := &flight{done: make(chan struct{}), refresh: refresh}
	s.busy = f
	return f
}

// end ends the flight f.
func (s *tokenSource) end(f *flight) {
	s.mu.Lock()
	s.busy = nil
	s.mu.Unlock()
	close(f.done)
}

// commit replaces the tokens (the zero value: signed out) and tells onTokens. Only the owner of
// the running flight calls it, so changes and callbacks come in order.
func (s *tokenSource) commit(t held) {
	s.mu.Lock()
	if t.AccessToken != s.tok.AccessToken && s.tok.AccessToken != "" {
		copy(s.recent[1:], s.recent[:])
		s.recent[0] = s.tok.AccessToken
	}
	s.tok = t
	s.mu.Unlock()
	if s.onTokens != nil {
		s.onTokens(t.Tokens)
	}
}

func (s *tokenSource) current() Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok.Tokens
}

// issued reports whether access is, or was, this source's access token.
func (s *tokenSource) issued(access string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if access == "" {
		return false
	}
	for _, t := range s.recent {
		if t == access {
			return true
		}
	}
	return access == s.tok.AccessToken
}

// dueLocked reports whether the access token must be refreshed before use.
func (s *tokenSource) dueLocked() bool {
	t := s.tok
	switch {
	case t.RefreshToken == "":
		return false // nothing to refresh with
	case t.AccessToken == "":
		return true
	case t.Expiry.IsZero():
		return false
	}
	skew := s.skew
	if t.life > 0 && t.life < 2*skew {
		skew = t.life / 2
	}
	return !s.now().Before(t.Expiry.Add(-skew))
}

// startRefreshLocked starts a refresh flight with the current refresh token, run detached
// from ctx's cancellation (waiters leave with their own context) and bounded by RefreshTimeout.
func (s *tokenSource) startRefreshLocked(ctx context.Context) *flight {
	f := s.begin(true)
	rt := s.tok.RefreshToken
	go func() {
		f.grant, f.err = s.refreshOwned(ctx, rt)
		s.end(f)
	}()
	return f
}

// refreshOwned exchanges rt; the caller owns the running flight. On success the new tokens are
// committed; when the session is over the tokens are cleared.
func (s *tokenSource) refreshOwned(ctx context.Context, rt string) (TokenResponse, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RefreshTimeout)
	defer cancel()
	g, err := s.exchange(ctx, rt)
	switch {
	case err == nil:
		s.commit(tokensOf(g, s.now()))
	case errors.Is(err, ErrSignedOut):
		s.commit(held{})
	}
	return g, err
}

// access returns the access token to send, refreshing first when it is due (or joining the
// refresh in flight). It returns ErrSignedOut without a session.
func (s *tokenSource) access(ctx context.Context) (string, error) {
	s.mu.Lock()
	for {
		if f := s.busy; f != nil {
			s.mu.Unlock()
			if err := f.wait(ctx); err != nil {
				return "", err
			}
			s.mu.Lock()
			if f.refresh && s.tok.AccessToken != "" {
				tok := s.tok.AccessToken // the refresh's: used even if due by now
				s.mu.Unlock()
				return tok, nil
			}
			continue
		}
		if s.tok.AccessToken == "" && s.tok.RefreshToken == "" {
			s.mu.Unlock()
			return "", ErrSignedOut
		}
		if !s.dueLocked() {
			tok := s.tok.AccessToken
			s.mu.Unlock()
			return tok, nil
		}
		s.startRefreshLocked(ctx) // then wait for it, above
	}
}

// refresh refreshes now, or joins the refresh in flight, and returns its answer.
func (s *tokenSource) refresh(ctx context.Context) (TokenResponse, error) {
	s.mu.Lock()
	for {
		f := s.busy
		if f == nil {
			if s.tok.RefreshToken == "" {
				s.mu.Unlock()
				return TokenResponse{}, ErrSignedOut
			}
			f = s.startRefreshLocked(ctx)
		}
		s.mu.Unlock()
		if err := f.wait(ctx); err != nil && ctx.Err() != nil {
			return TokenResponse{}, err // f may still be running
		}
		if f.refresh {
			return f.grant, f.err
		}
		s.mu.Lock()
	}
}

// rejected handles a 401 answer p to a request sent with this source's access token sent, and
// returns the token to retry with: the current one if it changed meanwhile, a refreshed one for
// token_expired. When the session is over it clears the tokens and returns ErrSignedOut with p.
func (s *tokenSource) rejected(ctx context.Context, sent string, p *Problem) (string, error) {
	s.mu.Lock()
	for {
		if f := s.busy; f != nil {
			s.mu.Unlock()
			if err := f.wait(ctx); err != nil {
				return "", err
			}
			s.mu.Lock()
			continue
		}
		switch cur := s.tok; {
		case cur.AccessToken != sent && cur.AccessToken != "":
			s.mu.Unlock()
			return cur.AccessToken, nil
		case cur.AccessToken != sent:
			s.mu.Unlock()
			return "", ErrSignedOut
		case p.Code == CodeTokenExpired && cur.RefreshToken != "":
			f := s.startRefreshLocked(ctx)
			s.mu.Unlock()
			if err := f.wait(ctx); err != nil {
				return "", err
			}
			return f.grant.AccessToken, nil
		}
		f := s.begin(false)
		s.mu.Unlock()
		s.commit(held{})
		s.end(f)
		return "", &signedOutError{p}
	}
}

// exclusive runs op while no refresh and no other exclusive operation runs. With fresh, op gets
// a valid access token, refreshed first when due (ErrSignedOut without a session); when op
// fails with token_expired (the client's clock is behind the server's), the token is refreshed
// and op runs once more. op returns the tokens to commit, nil to keep them.
func (s *tokenSource) exclusive(ctx context.Context, fresh bool, op func(ctx context.Context, access string) (*held, error)) error {
	s.mu.Lock()
	for s.busy != nil {
		f := s.busy
		s.mu.Unlock()
		if err := f.wait(ctx); err != nil && ctx.Err() != nil {
			return err
		}
		s.mu.Lock()
	}
	f := s.begin(false)
	due, tok := s.dueLocked(), s.tok.Tokens
	s.mu.Unlock()
	defer s.end(f)

	if fresh && tok.AccessToken == "" && tok.RefreshToken == "" {
		return ErrSignedOut
	}
	if fresh && due {
		if _, err := s.refreshOwned(ctx, tok.RefreshToken); err != nil {
			return err
		}
		tok = s.current()
	}
	next, err := op(ctx, tok.AccessToken)
	var p *Problem
	if fresh && errors.As(err, &p) && p.Code == CodeTokenExpired && p.Status == http.StatusUnauthorized && tok.RefreshToken != "" {
		if _, err := s.refreshOwned(ctx, tok.RefreshToken); err != nil {
			return err
		}
		next, err = op(ctx, s.current().AccessToken)
	}
	if next != nil {
		s.commit(*next)
	}
	return err
}

// tokensOf are the tokens of a grant received at now.
func tokensOf(g TokenResponse, now time.Time) held {
	life := time.Duration(g.ExpiresIn) * time.Second
	return held{Tokens{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, Expiry: now.Add(life)}, life}
}
