package sdk

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Defaults and limits of the Client that New makes.
const (
	// DefaultRefreshSkew is how long before its expiry an access token is refreshed: a call
	// made later refreshes first (see WithRefreshSkew).
	DefaultRefreshSkew = 30 * time.Second
	// DefaultRefreshAttempts is how many times a refresh is tried when it fails at the
	// transport or with a 408, 429 or 5xx answer, always with the same refresh token (see
	// WithRefreshRetry), as long as the retry budget lasts (see DefaultRefreshGrace).
	DefaultRefreshAttempts = 4
	// DefaultRefreshBackoff is the wait after the first failed attempt; it doubles after each.
	DefaultRefreshBackoff = 250 * time.Millisecond
	// DefaultRefreshAttemptTimeout is how long one refresh attempt may take before it is given
	// up and tried again (see WithRefreshAttemptTimeout): a refresh is a small exchange, and an
	// attempt left hanging would push its retry past the server's grace window.
	DefaultRefreshAttemptTimeout = 3 * time.Second
	// DefaultRefreshGrace is the server's default refresh grace window
	// (BOXOFFICE_REFRESH_GRACE): a refresh token presented again within it after its rotation
	// was applied gets the session's current tokens; after it, the server takes the token for a
	// stolen one and revokes the session (refresh_token_reused). See WithRefreshGrace.
	DefaultRefreshGrace = 10 * time.Second
	// DefaultRefreshRetryBudget is the retry budget for the default grace window: no retry of a
	// refresh is in progress later than this after its first attempt was sent (it is cut off
	// then), and none starts with less than 100 ms of it left (4/5 of the grace window, leaving
	// a margin for the retry to reach the server).
	DefaultRefreshRetryBudget = DefaultRefreshGrace * 4 / 5
	// SessionChangeAttemptTimeout is how long one attempt of Logout, LogoutAll or
	// ChangePassword may take before it is given up and tried again (see WithRefreshRetry): a
	// password change hashes the password (Argon2), which takes a while on a busy server. With
	// the default attempts, these calls take at most about a minute and a half in all.
	SessionChangeAttemptTimeout = 15 * time.Second
	// MaxRetryWait caps every wait between two attempts, those a Retry-After header asks for
	// included.
	MaxRetryWait = 10 * time.Second
	// RefreshTimeout bounds one refresh, its retries included. A refresh is not cancelled with
	// the context of the call that started it: other calls may be waiting for it, and an
	// exchange cut off half-way would leave the client with a spent refresh token.
	RefreshTimeout = time.Minute
	// DefaultResponseHeaderTimeout is how long New's default HTTP client waits for an answer's
	// headers (a body, such as a seat-event stream, may then take as long as it needs). A
	// refresh attempt waits at most DefaultRefreshAttemptTimeout.
	DefaultResponseHeaderTimeout = 30 * time.Second
)

// Client is a boxoffice API client for one user's session, over the bearer transport. It signs
// in, keeps the tokens, sends the access token with every call that needs it, refreshes it
// before it expires (and once more when the server answers 401 token_expired), and turns every
// answer it did not expect into an error: a *Problem, a *StatusError, or ErrSignedOut when
// the session is over. Calls return the answer's value with nil, or the zero value and an
// error.
//
// A Client is safe for concurrent use. Concurrent calls that need a refresh share one
// POST /v1/auth/refresh; Login, Logout, LogoutAll and ChangePassword never run concurrently
// with a refresh or with each other. API gives every other operation, with the same
// authentication.
type Client struct {
	plain   *ClientWithResponses // no authentication: Register, Login, refresh, and calls given their token
	authed  *ClientWithResponses // every call authenticated (ErrSignedOut without a session)
	api     *ClientWithResponses // API(): the token when there is one
	src     *tokenSource
	retry   retryPolicy // logout, logout-all, password change
	refresh retryPolicy
	now     func() time.Time
}

// Tokens are the credentials of a bearer session, as an app stores them between runs (see
// WithTokens and WithOnTokens). The refresh token is a secret: keep it where the platform
// keeps passwords. Tokens encode to JSON in full, but never print: fmt's verbs and log/slog
// show only which tokens are set, and the expiry.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"` // single use: every refresh replaces it
	Expiry       time.Time `json:"expiry"`        // the access token's, by the client's clock; zero: unknown
}

// String shows t without its secrets, as {AccessToken:[redacted] RefreshToken:[redacted]
// Expiry:2026-11-23T21:27:29Z}; a token that is not set shows as "".
func (t Tokens) String() string {
	return fmt.Sprintf("{AccessToken:%s RefreshToken:%s Expiry:%s}",
		redacted(t.AccessToken), redacted(t.RefreshToken), t.Expiry.Format(time.RFC3339Nano))
}

// GoString is String for %#v.
func (t Tokens) GoString() string { return "sdk.Tokens" + t.String() }

// Format makes every fmt verb print String (GoString for %#v), so that no verb shows a token.
func (t Tokens) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, t.GoString())
		return
	}
	io.WriteString(f, t.String())
}

// LogValue is t for log/slog, without its secrets.
func (t Tokens) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_token", redacted(t.AccessToken)),
		slog.String("refresh_token", redacted(t.RefreshToken)), slog.Time("expiry", t.Expiry))
}

// redacted stands for a secret in String and LogValue.
func redacted(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

// Option configures New: the options of this package (WithTokens, WithOnTokens, WithClock,
// WithRefreshSkew, WithRefreshRetry, WithRefreshGrace, WithRefreshAttemptTimeout) and the
// generated ClientOptions WithHTTPClient, WithRequestEditorFn and WithBaseURL.
type Option interface{ apply(*settings) error }

type settings struct {
	generated      []ClientOption
	tokens         Tokens
	onTokens       func(Tokens)
	now            func() time.Time
	skew           time.Duration
	retry          retryPolicy
	grace          time.Duration
	attemptTimeout time.Duration
}

type optionFunc func(*settings) error

func (f optionFunc) apply(s *settings) error { return f(s) }

// apply makes the generated options (WithHTTPClient, WithRequestEditorFn, WithBaseURL) options
// of New. The HTTP client given with WithHTTPClient sends every request of the Client, refreshes
// included; an *http.Client is used through a copy that does not follow redirects (the API
// never redirects, and a redirect must not carry the tokens elsewhere) and has no cookie jar
// (the Client authenticates with bearer tokens only: the jar's cookies are neither sent nor
// filled): the client given is not changed. Another HttpRequestDoer is used as it is, and must not follow redirects. Request
// editors run on every request before the Client adds its Authorization header.
func (o ClientOption) apply(s *settings) error {
	s.generated = append(s.generated, o)
	return nil
}

// WithTokens resumes a session stored earlier (see WithOnTokens): the Client starts signed in
// with t. An Expiry in the past makes the first call refresh; a zero Expiry means unknown (the
// access token is used until the server answers token_expired).
func WithTokens(t Tokens) Option {
	return optionFunc(func(s *settings) error {
		s.tokens = t
		return nil
	})
}

// WithOnTokens calls f with the new tokens after every change: Login, refresh, ChangePassword,
// and with the zero Tokens when the session ends (Logout, LogoutAll, or the server ended it),
// so that an app can store the current refresh token (the previous one is spent). Calls of f
// come one at a time, in the order of the changes; f must return quickly. f may call the
// Client's Tokens method, but no other: the change that calls f is still in progress, and a
// call that needs the tokens waits for it, so f would wait for itself (a deadlock).
func WithOnTokens(f func(Tokens)) Option {
	return optionFunc(func(s *settings) error {
		s.onTokens = f
		return nil
	})
}

// WithClock sets the clock that times the access token's expiry (default time.Now). Waits
// between retries use the real clock.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(s *settings) error {
		if now == nil {
			return errors.New("boxoffice: WithClock(nil)")
		}
		s.now = now
		return nil
	})
}

// WithRefreshSkew sets how long before its expiry an access token is refreshed (default
// DefaultRefreshSkew, 30 s). For tokens that live less than twice the skew, half their
// lifetime is used instead, so that a token is used at all.
func WithRefreshSkew(d time.Duration) Option {
	return optionFunc(func(s *settings) error {
		if d < 0 {
			return fmt.Errorf("boxoffice: WithRefreshSkew(%s): negative", d)
		}
		s.skew = d
		return nil
	})
}

// WithRefreshRetry sets how many times a refresh (and a retry-safe session change: Logout,
// LogoutAll, ChangePassword) is tried when it fails at the transport or with a 5xx answer (a
// refresh also with 408 or 429: the token was not rotated), and the wait after the first
// failure, doubled after each (defaults DefaultRefreshAttempts, 4, and DefaultRefreshBackoff,
// 250 ms). A Retry-After header lengthens a wait; no wait is longer than MaxRetryWait. An
// attempt of a session change is cut off after SessionChangeAttemptTimeout.
//
// Every attempt of a refresh sends the same refresh token: the server's grace window answers a
// spent one with the current tokens. So a refresh's attempts must all start within the grace
// window (see WithRefreshGrace): one that would start later is not made, and the refresh fails
// with the last attempt's error.
func WithRefreshRetry(attempts int, backoff time.Duration) Option {
	return optionFunc(func(s *settings) error {
		if attempts < 1 || backoff < 0 {
			return fmt.Errorf("boxoffice: WithRefreshRetry(%d, %s): need at least one attempt and a backoff >= 0", attempts, backoff)
		}
		s.retry = retryPolicy{attempts: attempts, backoff: backoff}
		return nil
	})
}

// WithRefreshGrace tells the Client the server's refresh grace window (BOXOFFICE_REFRESH_GRACE;
// default DefaultRefreshGrace, 10 s, the server's default). A refresh whose attempt failed
// without an answer (or with 408, 429 or 5xx) is tried again with the same refresh token only
// within 4/5 of d after the first attempt was sent (the retry budget:
// DefaultRefreshRetryBudget, 8 s, by default): a retry is cut off when the budget ends, and one
// with less than 100 ms of it left is not made; a retry after the window would make the server
// revoke the session if the first attempt was applied. Calls that waited for a refresh that
// failed get its error; they do not send the token again. 0 (a server without a
// grace window) means a refresh is never retried.
//
// What remains: when a refresh fails this way, the Client keeps its tokens (the session may be
// fine: the server may never have seen the attempt), and the next call that needs a refresh
// sends the same refresh token again. If an attempt was in fact applied more than the grace
// window before, the server answers refresh_token_reused and revokes the session: the call
// fails with ErrSignedOut, and the user must sign in again.
func WithRefreshGrace(d time.Duration) Option {
	return optionFunc(func(s *settings) error {
		if d < 0 {
			return fmt.Errorf("boxoffice: WithRefreshGrace(%s): negative", d)
		}
		s.grace = d
		return nil
	})
}

// WithRefreshAttemptTimeout sets how long one attempt of a refresh may take, its answer read
// (default DefaultRefreshAttemptTimeout, 3 s); an attempt cut off is retried within the retry
// budget (see WithRefreshGrace). Keep it well below the budget, or an attempt that hangs leaves
// no time for a retry.
func WithRefreshAttemptTimeout(d time.Duration) Option {
	return optionFunc(func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("boxoffice: WithRefreshAttemptTimeout(%s): must be positive", d)
		}
		s.attemptTimeout = d
		return nil
	})
}

// New returns a Client for the API at baseURL (such as "https://boxoffice.example.com"), not
// signed in unless WithTokens is given. Its default HTTP client is an *http.Client over a copy
// of http.DefaultTransport that waits at most DefaultResponseHeaderTimeout for an answer's
// headers. The Client follows no redirect and uses no cookie jar, with its default HTTP client
// or an *http.Client given with WithHTTPClient (it uses a copy of it): a 3xx answer is a *StatusError for the Client's
// methods, and is returned as it is by API(). New returns an error when baseURL is not an
// absolute http or https URL, or when an option is invalid.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("boxoffice: New(%q): the base URL must be an absolute http or https URL", baseURL)
	}
	s := settings{now: time.Now, skew: DefaultRefreshSkew,
		retry: retryPolicy{attempts: DefaultRefreshAttempts, backoff: DefaultRefreshBackoff},
		grace: DefaultRefreshGrace, attemptTimeout: DefaultRefreshAttemptTimeout}
	for _, o := range opts {
		if err := o.apply(&s); err != nil {
			return nil, err
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	base, err := NewClient(baseURL, append([]ClientOption{WithHTTPClient(&http.Client{Transport: transport})}, s.generated...)...)
	if err != nil {
		return nil, err
	}
	base.Client = withoutRedirects(base.Client)
	refresh := s.retry
	refresh.budget, refresh.attemptTimeout = s.grace*4/5, s.attemptTimeout
	refresh.also = []int{http.StatusRequestTimeout, http.StatusTooManyRequests}
	if s.grace == 0 {
		refresh.attempts = 1
	}
	change := s.retry
	change.attemptTimeout = SessionChangeAttemptTimeout
	c := &Client{retry: change, refresh: refresh, now: s.now}
	c.src = &tokenSource{exchange: c.exchange, now: s.now, skew: s.skew, onTokens: s.onTokens, tok: held{Tokens: s.tokens}}
	authDoer := &authDoer{next: base.Client, src: c.src}
	with := func(doer HttpRequestDoer, editor RequestEditorFn) *ClientWithResponses {
		raw := *base
		raw.Client = doer
		if editor != nil { // after the caller's editors, in a slice of its own
			raw.RequestEditors = append(raw.RequestEditors[:len(raw.RequestEditors):len(raw.RequestEditors)], editor)
		}
		return &ClientWithResponses{ClientInterface: &raw}
	}
	c.plain = with(base.Client, nil)
	c.authed = with(authDoer, c.src.authorize)
	c.api = with(authDoer, c.src.authorizeIfSignedIn)
	return c, nil
}

// withoutRedirects returns a copy of d that follows no redirect and has no cookie jar when d is
// an *http.Client, and d itself otherwise.
func withoutRedirects(d HttpRequestDoer) HttpRequestDoer {
	hc, ok := d.(*http.Client)
	if !ok || hc == nil {
		return d
	}
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cp.Jar = nil
	return &cp
}

// API returns the generated client for every operation of the API, sharing this Client's
// session: each request carries the access token when the Client holds one (refreshed first
// when due; without a session, requests go without Authorization), and a 401 token_expired is
// refreshed and retried once. Its answers are the generated response types: a problem is in
// the field for its status (ApplicationproblemJSON401, ...), not an error, except that a
// session the server ended gives ErrSignedOut. Sign in and out with the Client's methods, not
// through API, so that the Client knows its tokens.
func (c *Client) API() *ClientWithResponses { return c.api }

// Tokens returns the tokens the Client holds; the zero Tokens when it is signed out.
func (c *Client) Tokens() Tokens { return c.src.current() }
