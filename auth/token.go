package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AccessTokenType is the JWT "typ" header of access tokens (RFC 9068), which no other token we
// issue carries, so no other JWT can be replayed as an access token.
const AccessTokenType = "at+jwt"

// MaxTokenBytes bounds the size of an access token accepted for parsing.
const MaxTokenBytes = 2048

// Access token errors. Every forged, malformed, mis-signed or mis-addressed token yields
// ErrTokenInvalid; only a token that is valid but for its expiry yields ErrTokenExpired.
var (
	ErrTokenInvalid = errors.New("auth: invalid access token")
	ErrTokenExpired = errors.New("auth: access token expired")
)

// Claims are the verified contents of an access token.
type Claims struct {
	UserID    string
	SessionID string
	TokenID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// DefaultIssuer and DefaultAudience are the "iss" and "aud" of access tokens when TokenConfig
// leaves them empty.
const (
	DefaultIssuer   = "boxoffice"
	DefaultAudience = "boxoffice"
)

// DefaultAccessTTL is how long an access token lives when TokenConfig.TTL is zero.
const DefaultAccessTTL = 5 * time.Minute

// TokenConfig configures access tokens. Zero values take the documented defaults.
type TokenConfig struct {
	Issuer   string        // default "boxoffice"
	Audience string        // default "boxoffice"
	TTL      time.Duration // default 5m
	Leeway   time.Duration // clock-skew allowance on exp/iat/nbf; default 5s
	// Keys is the deployment's key ring; required. Tokens are signed with its current secret
	// and verified with whichever of its secrets their "kid" names.
	Keys *KeyRing
	Now  func() time.Time
	// CacheSize bounds a cache of tokens that verified, so that a client sending the same token
	// many times pays for one signature check and JSON decode. 0 disables it.
	CacheSize int
}

// Tokens issues and verifies HS256 access tokens.
type Tokens struct {
	cfg    TokenConfig
	kid    string
	method jwt.SigningMethod
	parser *jwt.Parser
	cache  *verifiedCache
	key    []byte            // the signing key: the ring's current secret
	ring   map[string][]byte // kid -> key: every secret of the ring
}

// keyID names a key in the "kid" header: a truncated hash, which reveals nothing usable about
// a key of at least 256 bits.
func keyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("boxoffice kid\x00"), key...))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// NewTokens returns a Tokens for cfg, or an error when cfg.Keys is nil or holds no secret
// (NewKeyRing has checked the secrets' lengths).
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	if cfg.Keys == nil || len(cfg.Keys.secrets) == 0 {
		return nil, errors.New("auth: TokenConfig.Keys is required")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultAccessTTL
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	secrets := cfg.Keys.all()
	t := &Tokens{cfg: cfg, key: secrets[0], kid: keyID(secrets[0]), method: jwt.SigningMethodHS256, ring: map[string][]byte{}}
	for _, k := range secrets {
		t.ring[keyID(k)] = k
	}
	if cfg.CacheSize > 0 {
		t.cache = newVerifiedCache(cfg.CacheSize)
	}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{t.method.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(cfg.Now),
	)
	return t, nil
}

// TTL returns the access-token lifetime.
func (t *Tokens) TTL() time.Duration { return t.cfg.TTL }

// Leeway returns the clock-skew allowance applied when verifying.
func (t *Tokens) Leeway() time.Duration { return t.cfg.Leeway }

// Issue signs an access token for the session and returns it with its expiry. It returns
// ErrInvalidID when either id is malformed.
func (t *Tokens) Issue(userID, sessionID string) (string, time.Time, error) {
	if !ValidID(userID) || !ValidID(sessionID) {
		return "", time.Time{}, ErrInvalidID
	}
	now := t.cfg.Now().Truncate(time.Second)
	exp := now.Add(t.cfg.TTL)
	c := accessClaims{
		Issuer:    t.cfg.Issuer,
		Subject:   userID,
		Audience:  jwt.ClaimStrings{t.cfg.Audience},
		ExpiresAt: jwt.NewNumericDate(exp),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        NewID(),
		SessionID: sessionID,
	}
	tok := jwt.NewWithClaims(t.method, &c)
	tok.Header["kid"] = t.kid
	tok.Header["typ"] = AccessTokenType
	s, err := tok.SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign access token: %w", err)
	}
	return s, exp, nil
}

// Verify checks raw's size, header (typ, kid, no crit), signature and claims. Claims are
// decoded strictly (see accessClaims.UnmarshalJSON): iss, aud, sub, sid, jti, iat and exp must
// be present with their RFC 7519 types, exp/iat/nbf as whole seconds. It returns
// ErrTokenExpired for a token that is valid except for having expired, else ErrTokenInvalid.
func (t *Tokens) Verify(raw string) (Claims, error) {
	if len(raw) == 0 || len(raw) > MaxTokenBytes || !compactJWS(raw) {
		return Claims{}, ErrTokenInvalid
	}
	if c, ok := t.cache.get(raw, t.cfg.Now().Add(-t.cfg.Leeway)); ok {
		return c, nil
	}
	var c accessClaims
	_, err := t.parser.ParseWithClaims(raw, &c, t.keyFor)
	idsOK := ValidID(c.Subject) && ValidID(c.SessionID) && ValidID(c.ID)
	if err != nil {
		if idsOK && onlyExpired(err) {
			return Claims{}, ErrTokenExpired
		}
		return Claims{}, ErrTokenInvalid
	}
	// The decoder requires iat and exp; a nil here must still be a refusal, never a panic.
	if !idsOK || c.IssuedAt == nil || c.ExpiresAt == nil {
		return Claims{}, ErrTokenInvalid
	}
	out := Claims{
		UserID: c.Subject, SessionID: c.SessionID, TokenID: c.ID,
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time,
	}
	t.cache.put(strings.Clone(raw), out)
	return out, nil
}

// keyFor is the jwt.Keyfunc: the key comes only from our key ring (the current secret and the
// previous ones), chosen by kid, and only for headers that carry exactly the parameters we
// issue.
func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	if _, ok := tok.Header["crit"]; ok {
		return nil, ErrTokenInvalid
	}
	for k := range tok.Header {
		switch k {
		case "alg", "typ", "kid":
		default: // jku, jwk, x5u, x5c, ...: no key material or extension is taken from tokens
			return nil, ErrTokenInvalid
		}
	}
	if typ, _ := tok.Header["typ"].(string); typ != AccessTokenType {
		return nil, ErrTokenInvalid
	}
	kid, _ := tok.Header["kid"].(string)
	key, ok := t.ring[kid]
	if !ok {
		return nil, ErrTokenInvalid
	}
	return key, nil
}

// compactJWS reports whether s consists only of base64url characters and dots. Go's base64
// decoders skip CR and LF even in strict mode, and the signature is not itself signed, so
// without this check one token would have endless accepted spellings.
func compactJWS(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// onlyExpired reports whether err says the token is expired and nothing else is wrong with it.
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{
		jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer,
		jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenNotValidYet, jwt.ErrTokenInvalidSubject,
	} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}
