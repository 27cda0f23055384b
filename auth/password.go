package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password limits. The maximum is in bytes and is checked before any hashing, so a megabyte
// password costs nothing.
const (
	PasswordMinChars = 8
	PasswordMaxBytes = 256
)

// Password errors. ErrPasswordMismatch is what Verify returns for a wrong password; the others
// are validation errors whose text is safe to show.
var (
	ErrPasswordMismatch = errors.New("auth: password mismatch")
	ErrPasswordTooShort = errors.New("must be at least 8 characters")
	ErrPasswordTooLong  = errors.New("must be at most 256 bytes")
	ErrPasswordInvalid  = errors.New("must be valid UTF-8 without NUL characters")
	ErrHashBusy         = errors.New("auth: too many password hashes in progress")
	ErrHashFormat       = errors.New("auth: unsupported password hash format")
)

// Argon2Params are argon2id cost parameters. The defaults are OWASP's minimum for argon2id:
// 19 MiB of memory, 2 iterations, 1 lane.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is OWASP's recommended minimum (m=19 MiB, t=2, p=1).
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// AtLeastOWASP reports whether p costs at least as much as one of OWASP's equivalent argon2id
// configurations (m=47104 t=1, m=19456 t=2, m=12288 t=3, m=9216 t=4, m=7168 t=5).
func (p Argon2Params) AtLeastOWASP() bool {
	for _, o := range []Argon2Params{{47104, 1, 1}, {19456, 2, 1}, {12288, 3, 1}, {9216, 4, 1}, {7168, 5, 1}} {
		if p.MemoryKiB >= o.MemoryKiB && p.Time >= o.Time {
			return true
		}
	}
	return false
}

// Passwords hashes and verifies passwords with argon2id, running at most a fixed number of
// hashes at once so that a login flood cannot exhaust memory (each hash holds MemoryKiB).
type Passwords struct {
	params Argon2Params
	slots  chan struct{}
	dummy  string
}

// NewPasswords returns a hasher using params with at most concurrency hashes in flight
// (minimum 1).
func NewPasswords(params Argon2Params, concurrency int) *Passwords {
	if concurrency < 1 {
		concurrency = 1
	}
	p := &Passwords{params: params, slots: make(chan struct{}, concurrency)}
	p.dummy = p.encode(make([]byte, 16), []byte("boxoffice-dummy"))
	return p
}

// CheckPassword validates a new password's length and encoding; it returns one of the
// validation errors above or nil.
func CheckPassword(pw string) error {
	if len(pw) > PasswordMaxBytes {
		return ErrPasswordTooLong
	}
	if !utf8.ValidString(pw) || strings.IndexByte(pw, 0) >= 0 {
		return ErrPasswordInvalid
	}
	if utf8.RuneCountInString(pw) < PasswordMinChars {
		return ErrPasswordTooShort
	}
	return nil
}

// Hash returns the PHC string of pw with a fresh salt. It waits for a free hashing slot until
// ctx is done and then returns ErrHashBusy.
func (p *Passwords) Hash(ctx context.Context, pw string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	salt := make([]byte, 16)
	rand.Read(salt)
	return p.encode(salt, []byte(pw)), nil
}

// Verify checks pw against encoded. With encoded == "" it verifies against a fixed dummy hash
// and returns ErrPasswordMismatch, so unknown users cost as much as known ones. needsRehash is
// true when the stored parameters differ from the configured ones. It returns
// ErrPasswordMismatch, ErrHashBusy, ErrHashFormat or nil.
func (p *Passwords) Verify(ctx context.Context, encoded, pw string) (needsRehash bool, err error) {
	known := encoded != ""
	if !known {
		encoded = p.dummy
	}
	params, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	if len(pw) > PasswordMaxBytes {
		pw = pw[:PasswordMaxBytes] // still costs a full hash; the comparison fails below anyway
		known = false
	}
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, params.Time, params.MemoryKiB, params.Threads, uint32(len(want)))
	p.release()
	if subtle.ConstantTimeCompare(got, want) != 1 || !known {
		return false, ErrPasswordMismatch
	}
	return params != p.params, nil
}

func (p *Passwords) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrHashBusy
	}
}

func (p *Passwords) release() { <-p.slots }

func (p *Passwords) encode(salt, pw []byte) string {
	key := argon2.IDKey(pw, salt, p.params.Time, p.params.MemoryKiB, p.params.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.params.MemoryKiB, p.params.Time, p.params.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// phcUint parses "<prefix><decimal>" with no sign, spaces or leading zeros, within [lo, hi].
func phcUint(s, prefix string, lo, hi uint64) (uint32, bool) {
	d, ok := strings.CutPrefix(s, prefix)
	if !ok || d == "" || len(d) > 10 || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(d[i]-'0')
	}
	if n < lo || n > hi {
		return 0, false
	}
	return uint32(n), true
}

// decodePHC parses "$argon2id$v=19$m=..,t=..,p=..$salt$hash" with sane bounds on every value.
func decodePHC(s string) (Argon2Params, []byte, []byte, error) {
	var params Argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return params, nil, nil, ErrHashFormat
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return params, nil, nil, ErrHashFormat
	}
	m, ok1 := phcUint(kv[0], "m=", 8, 1<<22)
	t, ok2 := phcUint(kv[1], "t=", 1, 64)
	th, ok3 := phcUint(kv[2], "p=", 1, 64)
	if !ok1 || !ok2 || !ok3 || strings.ContainsAny(parts[4]+parts[5], "\r\n") {
		return params, nil, nil, ErrHashFormat
	}
	salt, err1 := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return params, nil, nil, ErrHashFormat
	}
	return Argon2Params{MemoryKiB: m, Time: t, Threads: uint8(th)}, salt, key, nil
}
