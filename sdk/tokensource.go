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
// LogoutAll, ChangePassword), after which waiters look again. A call whose access token is not
// due goes on with it while an exclusive operation runs (the generation rule below still applies
// to its answer); calls that need a refresh wait, and so do calls while a refresh runs. When the
// refresh that an exclusive operation makes first fails, the calls that waited for it get its
// error, like the waiters of a refresh: none sends the same refresh token again at once, with a
// retry budget of its own (see WithRefreshGrace).
//
// The tokens belong to a generation: each sign-in (Login, or the tokens New resumes) starts
// one, which refreshes and password changes continue (the same user's session goes on) and a
// sign-out ends (Logout, LogoutAll, or the server's verdict that the session is over). A call
// made in one generation never goes on with the tokens of another: a 401 to a request sent in
// an earlier generation is not retried, and a call that started in a session and waited while
// it ended fails with ErrSignedOut instead of being sent with the next sign-in's tokens.
type tokenSource struct {
	exchange func(ctx context.Context, refreshToken string) (TokenResponse, error) // one refresh, retries included
	now      func() time.Time
	skew     time.Duration
	onTokens func(Tokens)
	onWait   func() // tests: run when a call starts waiting for a flight

	mu     sync.Mutex
	tok    held
	gen    uint64    // the generation of tok; a sign-in or sign-out starts the next
	recent [8]issued // the access tokens tok replaced, newest first, with their generation
	busy   *flight   // the flight in progress, nil when none
}

// issued is an access token that a source held, and the generation it belonged to.
type issued struct {
	access string
	gen    uint64
}

// errSessionEnded is the error of a call that started in a session which ended (or was replaced
// by another sign-in) while the call waited for a token change in progress. It is ErrSignedOut,
// wrapped, so that API() calls fail with it rather than go without Authorization.
var errSessionEnded error = &sessionEndedError{}

type sessionEndedError struct{}

func (*sessionEndedError) Error() string {
	return string(ErrSignedOut) + ": the session this call was made in ended while it waited"
}

func (*sessionEndedError) Unwrap() error { return ErrSignedOut }

// errOtherGeneration is rejected's verdict on a 401 to a request of an earlier generation while
// the Client holds a later one: the answer is returned as it is.
var errOtherGeneration = errors.New("boxoffice: the answer is for an earlier session")

// held are the tokens of a source, with the access token's lifetime when the server gave it (0
// for resumed tokens).
type held struct {
	Tokens
	life time.Duration
}

// change is what a commit of new tokens does to the session generation.
type change int

const (
	renew  change = iota // a refresh or a password change: the same session goes on
	signIn               // a new session starts a new generation
)

// flight is a refresh or an exclusive operation in progress; done closes when it ended.
type flight struct {
	done    chan struct{}
	refresh bool
	grant   TokenResponse // a refresh's outcome, set before done closes
	err     error         // a failed refresh's error, also of one an exclusive operation made
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

// await waits for f, which runs; s.mu is held, and is held again on return (also on error).
func (s *tokenSource) await(ctx context.Context, f *flight) error {
	s.mu.Unlock()
	if s.onWait != nil {
		s.onWait()
	}
	err := f.wait(ctx)
	s.mu.Lock()
	return err
}

// commit replaces the tokens and tells onTokens. The zero Tokens sign out, which ends the
// generation; signIn starts a new one; renew continues it. The access token replaced is
// remembered with its generation. Only the owner of the running flight calls it, so changes
// and callbacks come in order.
func (s *tokenSource) commit(t held, c change) {
	s.mu.Lock()
	if t.AccessToken != s.tok.AccessToken && s.tok.AccessToken != "" {
		copy(s.recent[1:], s.recent[:])
		s.recent[0] = issued{s.tok.AccessToken, s.gen}
	}
	if t.Tokens == (Tokens{}) || c == signIn {
		s.gen++
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

// signedInLocked reports whether the source holds a session.
func (s *tokenSource) signedInLocked() bool {
	return s.tok.AccessToken != "" || s.tok.RefreshToken != ""
}

// pin is the generation a call works in: the one it started in when there was a session then.
// A call that started signed out takes the first session it finds (it may have waited for a
// Login).
type pin struct {
	gen   uint64
	valid bool
}

// checkLocked pins p to the current generation when it is not yet pinned, and reports whether
// the call may go on: false when the generation it started in is over.
func (p *pin) checkLocked(s *tokenSource) bool {
	if !p.valid {
		*p = pin{gen: s.gen, valid: s.signedInLocked()}
		return true
	}
	return p.gen == s.gen
}

// generationOf reports whether access is this source's access token or one it held recently,
// and returns the generation it belongs to.
func (s *tokenSource) generationOf(access string) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if access == "" {
		return 0, false
	}
	if access == s.tok.AccessToken {
		return s.gen, true
	}
	for _, t := range s.recent {
		if t.access == access {
			return t.gen, true
		}
	}
	return 0, false
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
		s.commit(tokensOf(g, s.now()), renew)
	case errors.Is(err, ErrSignedOut):
		s.commit(held{}, renew)
	}
	return g, err
}

// access returns the access token to send, refreshing first when it is due (or joining the
// refresh in flight). It returns ErrSignedOut without a session, and errSessionEnded when the
// session the call started in ended while it waited.
func (s *tokenSource) access(ctx context.Context) (string, error) {
	var p pin
	s.mu.Lock()
	for {
		if !p.checkLocked(s) {
			s.mu.Unlock()
			return "", errSessionEnded
		}
		if f := s.busy; f != nil && (f.refresh || !s.signedInLocked() || s.dueLocked()) {
			if err := s.await(ctx, f); err != nil {
				s.mu.Unlock()
				return "", err
			}
			if f.refresh && s.tok.AccessToken != "" {
				tok := s.tok.AccessToken // the refresh's: used even if due by now
				s.mu.Unlock()
				return tok, nil
			}
			continue
		}
		if !s.signedInLocked() {
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

// refresh refreshes now, or joins the refresh in flight, and returns its answer. It returns
// errSessionEnded when the session it started in ended while it waited for another flight.
func (s *tokenSource) refresh(ctx context.Context) (TokenResponse, error) {
	var p pin
	s.mu.Lock()
	for {
		if !p.checkLocked(s) {
			s.mu.Unlock()
			return TokenResponse{}, errSessionEnded
		}
		f := s.busy
		if f == nil {
			if s.tok.RefreshToken == "" {
				s.mu.Unlock()
				return TokenResponse{}, ErrSignedOut
			}
			f = s.startRefreshLocked(ctx)
		}
		if err := s.await(ctx, f); err != nil && ctx.Err() != nil {
			s.mu.Unlock()
			return TokenResponse{}, err // f may still be running
		}
		if f.refresh || f.err != nil {
			s.mu.Unlock()
			return f.grant, f.err
		}
	}
}

// rejected handles a 401 answer p to a request sent with access token sent, which was issued in
// generation gen, and returns the token to retry with: the current one if it changed meanwhile
// in the same generation, a refreshed one for token_expired. When the session is over it clears
// the tokens and returns ErrSignedOut with p. When the Client signed in again since gen, it
// returns errOtherGeneration (the answer stands); when it signed out since, ErrSignedOut.
func (s *tokenSource) rejected(ctx context.Context, sent string, gen uint64, p *Problem) (string, error) {
	s.mu.Lock()
	for {
		if s.gen != gen {
			signedIn := s.signedInLocked()
			s.mu.Unlock()
			switch {
			case signedIn:
				return "", errOtherGeneration
			case endsSession(p):
				return "", &signedOutError{p}
			}
			return "", ErrSignedOut
		}
		if f := s.busy; f != nil {
			if err := s.await(ctx, f); err != nil {
				s.mu.Unlock()
				return "", err
			}
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
		s.commit(held{}, renew)
		s.end(f)
		return "", &signedOutError{p}
	}
}

// exclusive runs op while no refresh and no other exclusive operation runs, and commits the
// tokens op returns (nil: keep them) as c. With fresh, op gets a valid access token, refreshed
// first when due (ErrSignedOut without a session, errSessionEnded when the session the call
// started in ended while it waited); when op fails with token_expired (the client's clock is
// behind the server's), the token is refreshed and op runs once more. When such a refresh fails,
// the calls waiting for op get its error; when op waited for a refresh that failed and the token
// is due, op fails with that refresh's error rather than sending the same refresh token again.
func (s *tokenSource) exclusive(ctx context.Context, fresh bool, c change, op func(ctx context.Context, access string) (*held, error)) error {
	var p pin
	var failed error // the error of the refresh waited for
	s.mu.Lock()
	p.checkLocked(s)
	for s.busy != nil {
		err := s.await(ctx, s.busy)
		if err != nil && ctx.Err() != nil {
			s.mu.Unlock()
			return err
		}
		failed = err
	}
	if fresh && !p.checkLocked(s) {
		s.mu.Unlock()
		return errSessionEnded
	}
	if fresh && failed != nil && s.dueLocked() {
		s.mu.Unlock()
		return failed
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
			f.err = err // for the calls waiting for f
			return err
		}
		tok = s.current()
	}
	next, err := op(ctx, tok.AccessToken)
	var pr *Problem
	if fresh && errors.As(err, &pr) && pr.Code == CodeTokenExpired && pr.Status == http.StatusUnauthorized && tok.RefreshToken != "" {
		if _, err := s.refreshOwned(ctx, tok.RefreshToken); err != nil {
			f.err = err
			return err
		}
		next, err = op(ctx, s.current().AccessToken)
	}
	if next != nil {
		s.commit(*next, c)
	}
	return err
}

// tokensOf are the tokens of a grant received at now.
func tokensOf(g TokenResponse, now time.Time) held {
	life := time.Duration(g.ExpiresIn) * time.Second
	return held{Tokens{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, Expiry: now.Add(life)}, life}
}
