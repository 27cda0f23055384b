package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"boxoffice/auth"
)

// cheap keeps the tests fast; only TestDefaultArgon2 uses the real cost.
var cheap = auth.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

func newCheap(t *testing.T, concurrency int) *auth.Passwords {
	t.Helper()
	return auth.NewPasswords(cheap, concurrency)
}

func mustHash(t *testing.T, p *auth.Passwords, pw string) string {
	t.Helper()
	h, err := p.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash(%q) error = %v", pw, err)
	}
	return h
}

func TestDefaultArgon2IsOWASPMinimum(t *testing.T) {
	want := auth.Argon2Params{MemoryKiB: 19456, Time: 2, Threads: 1}
	if auth.DefaultArgon2 != want {
		t.Fatalf("DefaultArgon2 = %+v, want %+v", auth.DefaultArgon2, want)
	}
	p := auth.NewPasswords(auth.DefaultArgon2, 1)
	h := mustHash(t, p, "correct horse battery staple")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash with DefaultArgon2 = %q, want prefix $argon2id$v=19$m=19456,t=2,p=1$", h)
	}
	rehash, err := p.Verify(context.Background(), h, "correct horse battery staple")
	if err != nil || rehash {
		t.Fatalf("Verify = %v, %v; want false, nil", rehash, err)
	}
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashFormat(t *testing.T) {
	p := newCheap(t, 1)
	h := mustHash(t, p, "password123")
	if !phcPattern.MatchString(h) {
		t.Fatalf("Hash = %q, want PHC argon2id string with 16-byte salt and 32-byte key", h)
	}
	if strings.Contains(h, "password123") {
		t.Fatalf("hash contains the password: %q", h)
	}
	// Fresh salt every time.
	h2 := mustHash(t, p, "password123")
	if h == h2 {
		t.Fatalf("two hashes of the same password are identical: %q", h)
	}
	salt1, salt2 := strings.Split(h, "$")[4], strings.Split(h2, "$")[4]
	if salt1 == salt2 {
		t.Fatalf("salt reused: %q", salt1)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	p := newCheap(t, 2)
	ctx := context.Background()
	passwords := []string{
		"password123",
		"correct horse battery staple",
		"ünïcödé-pässwörd",
		"密码密码密码密码",
		"🔑🔑🔑🔑🔑🔑🔑🔑",
		strings.Repeat("x", auth.PasswordMaxBytes),
		"", // Hash does not validate; CheckPassword does
	}
	for _, pw := range passwords {
		t.Run(fmt.Sprintf("len%d", len(pw)), func(t *testing.T) {
			h := mustHash(t, p, pw)
			rehash, err := p.Verify(ctx, h, pw)
			if err != nil || rehash {
				t.Fatalf("Verify(correct) = %v, %v; want false, nil", rehash, err)
			}
			for _, wrong := range []string{pw + "x", "x" + pw, strings.ToUpper(pw) + "!", pw + "\x00"} {
				rehash, err := p.Verify(ctx, h, wrong)
				if !errors.Is(err, auth.ErrPasswordMismatch) || rehash {
					t.Fatalf("Verify(wrong %q) = %v, %v; want false, ErrPasswordMismatch", wrong, rehash, err)
				}
			}
		})
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	p := newCheap(t, 1)
	ctx := context.Background()
	h := mustHash(t, p, "password123")
	tests := []struct {
		name string
		pw   string
	}{
		{"different", "password124"},
		{"empty", ""},
		{"prefix", "password12"},
		{"case", "PASSWORD123"},
		{"trailing space", "password123 "},
		{"NFC vs NFD irrelevant here", "pässword123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rehash, err := p.Verify(ctx, h, tt.pw)
			if !errors.Is(err, auth.ErrPasswordMismatch) {
				t.Fatalf("Verify(%q) error = %v, want ErrPasswordMismatch", tt.pw, err)
			}
			if rehash {
				t.Fatalf("Verify(%q) needsRehash = true on mismatch", tt.pw)
			}
		})
	}
}

func TestVerifyUnknownUserUsesDummy(t *testing.T) {
	p := newCheap(t, 1)
	ctx := context.Background()
	// "boxoffice-dummy" is the dummy hash's own password: it must not log anyone in either.
	for _, pw := range []string{"", "password123", "boxoffice-dummy", strings.Repeat("a", 1000)} {
		rehash, err := p.Verify(ctx, "", pw)
		if !errors.Is(err, auth.ErrPasswordMismatch) || rehash {
			t.Errorf("Verify(\"\", %q) = %v, %v; want false, ErrPasswordMismatch", pw, rehash, err)
		}
	}
}

func TestVerifyUnknownUserTakesASlot(t *testing.T) {
	// The dummy verification is a real hash: it must queue for a slot like any other.
	p := newCheap(t, 1)
	release := auth.HoldHashSlots(p, 1)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Verify(ctx, "", "password123"); !errors.Is(err, auth.ErrHashBusy) {
		t.Fatalf("Verify(\"\") with all slots busy = %v, want ErrHashBusy", err)
	}
}

func TestVerifyOverlongPasswordNeverMatches(t *testing.T) {
	// Verify truncates passwords over PasswordMaxBytes before hashing; the truncated prefix must
	// not be accepted in place of the full (overlong) password.
	p := newCheap(t, 1)
	ctx := context.Background()
	prefix := strings.Repeat("p", auth.PasswordMaxBytes)
	h := mustHash(t, p, prefix)
	if _, err := p.Verify(ctx, h, prefix); err != nil {
		t.Fatalf("Verify(256-byte password) = %v, want nil", err)
	}
	for _, pw := range []string{prefix + "x", prefix + strings.Repeat("y", 1<<20)} {
		if rehash, err := p.Verify(ctx, h, pw); !errors.Is(err, auth.ErrPasswordMismatch) || rehash {
			t.Errorf("Verify(%d-byte password with a matching 256-byte prefix) = %v, %v; want ErrPasswordMismatch", len(pw), rehash, err)
		}
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		stored auth.Argon2Params
		want   bool
	}{
		{"same params", cheap, false},
		{"more memory configured", auth.Argon2Params{MemoryKiB: 32, Time: 1, Threads: 1}, true},
		{"less memory configured", auth.Argon2Params{MemoryKiB: 128, Time: 1, Threads: 1}, true},
		{"time differs", auth.Argon2Params{MemoryKiB: 64, Time: 2, Threads: 1}, true},
		{"threads differ", auth.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 2}, true},
	}
	current := newCheap(t, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := auth.NewPasswords(tt.stored, 1)
			h := mustHash(t, old, "password123")
			rehash, err := current.Verify(ctx, h, "password123")
			if err != nil {
				t.Fatalf("Verify(hash with %+v) error = %v", tt.stored, err)
			}
			if rehash != tt.want {
				t.Fatalf("needsRehash = %v, want %v (stored %+v, configured %+v)", rehash, tt.want, tt.stored, cheap)
			}
			// Wrong password never asks for a rehash.
			if rehash, err := current.Verify(ctx, h, "wrong-password"); !errors.Is(err, auth.ErrPasswordMismatch) || rehash {
				t.Fatalf("Verify(wrong) = %v, %v", rehash, err)
			}
		})
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	p := newCheap(t, 1)
	good := mustHash(t, p, "password123")
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	salt, key := parts[4], parts[5]
	join := func(ps ...string) string { return strings.Join(ps, "$") }
	b64 := base64.RawStdEncoding.EncodeToString
	tests := []struct {
		name string
		enc  string
	}{
		{"garbage", "not a hash"},
		{"dollar only", "$"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"no leading dollar", strings.TrimPrefix(good, "$")},
		{"argon2i", join("", "argon2i", "v=19", "m=64,t=1,p=1", salt, key)},
		{"argon2d", join("", "argon2d", "v=19", "m=64,t=1,p=1", salt, key)},
		{"uppercase algorithm", join("", "ARGON2ID", "v=19", "m=64,t=1,p=1", salt, key)},
		{"version 16", join("", "argon2id", "v=16", "m=64,t=1,p=1", salt, key)},
		{"version missing", join("", "argon2id", "m=64,t=1,p=1", salt, key)},
		{"version garbage", join("", "argon2id", "v=19x", "m=64,t=1,p=1", salt, key)},
		{"extra field", good + "$extra"},
		{"trailing dollar", good + "$"},
		{"missing key", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt)},
		{"empty params", join("", "argon2id", "v=19", "", salt, key)},
		{"params reordered", join("", "argon2id", "v=19", "t=1,m=64,p=1", salt, key)},
		{"params missing p", join("", "argon2id", "v=19", "m=64,t=1", salt, key)},
		{"memory 0", join("", "argon2id", "v=19", "m=0,t=1,p=1", salt, key)},
		{"memory 7", join("", "argon2id", "v=19", "m=7,t=1,p=1", salt, key)},
		{"memory over 4 GiB cap", join("", "argon2id", "v=19", fmt.Sprintf("m=%d,t=1,p=1", 1<<22+1), salt, key)},
		{"memory overflows uint32", join("", "argon2id", "v=19", "m=4294967360,t=1,p=1", salt, key)},
		{"memory negative", join("", "argon2id", "v=19", "m=-64,t=1,p=1", salt, key)},
		{"memory hex", join("", "argon2id", "v=19", "m=0x40,t=1,p=1", salt, key)},
		{"time 0", join("", "argon2id", "v=19", "m=64,t=0,p=1", salt, key)},
		{"time 65", join("", "argon2id", "v=19", "m=64,t=65,p=1", salt, key)},
		{"threads 0", join("", "argon2id", "v=19", "m=64,t=1,p=0", salt, key)},
		{"threads 65", join("", "argon2id", "v=19", "m=64,t=1,p=65", salt, key)},
		{"threads 256 (uint8 wrap)", join("", "argon2id", "v=19", "m=64,t=1,p=256", salt, key)},
		{"salt empty", join("", "argon2id", "v=19", "m=64,t=1,p=1", "", key)},
		{"salt 7 bytes", join("", "argon2id", "v=19", "m=64,t=1,p=1", b64(make([]byte, 7)), key)},
		{"salt padded", join("", "argon2id", "v=19", "m=64,t=1,p=1", base64.StdEncoding.EncodeToString(make([]byte, 16)), key)},
		{"salt url alphabet", join("", "argon2id", "v=19", "m=64,t=1,p=1", strings.Repeat("-", 22), key)},
		{"salt non-canonical trailing bits", join("", "argon2id", "v=19", "m=64,t=1,p=1", strings.Repeat("A", 21)+"B", key)},
		{"key empty", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, "")},
		{"key 15 bytes", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, b64(make([]byte, 15)))},
		{"key padded", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, key+"=")},
		{"key invalid char", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, key[:10]+"!"+key[11:])},
		{"key non-canonical trailing bits", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, strings.Repeat("A", 42)+"B")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, pw := range []string{"password123", "wrong"} {
				rehash, err := p.Verify(context.Background(), tt.enc, pw)
				if !errors.Is(err, auth.ErrHashFormat) || rehash {
					t.Fatalf("Verify(%q, %q) = %v, %v; want false, ErrHashFormat", tt.enc, pw, rehash, err)
				}
			}
		})
	}
}

// decodePHC accepts malformed PHC strings instead of returning ErrHashFormat:
//   - password.go:145 parses the parameter segment with fmt.Sscanf, which skips spaces before a
//     number and ignores anything after the last verb ("m=64,t=1,p=1x", "…,keyid=abc");
//   - password.go:149-150 decode salt and key with base64 Strict(), which still ignores '\r'
//     and '\n' anywhere in the input.
//
// One stored hash thus has many spellings, and a PHC string carrying argon2's optional
// keyid/data parameters would be verified as if they were absent.
func TestVerifyRejectsMalformedPHC(t *testing.T) {
	p := newCheap(t, 1)
	parts := strings.Split(mustHash(t, p, "password123"), "$")
	with := func(i int, v string) string {
		ps := append([]string(nil), parts...)
		ps[i] = v
		return strings.Join(ps, "$")
	}
	salt, key := parts[4], parts[5]
	for _, enc := range []string{
		with(3, "m=64,t=1,p=1x"),
		with(3, "m=64,t=1,p=1,keyid=abc"),
		with(3, "m=64,t=1,p=1,data=abc"),
		with(3, "m= 64,t= 1,p= 1"),
		with(3, "m=64,t=1,p=1 "),
		with(4, salt[:10]+"\n"+salt[10:]),
		with(4, salt+"\r\n"),
		with(5, key[:10]+"\r"+key[10:]),
	} {
		if rehash, err := p.Verify(context.Background(), enc, "password123"); !errors.Is(err, auth.ErrHashFormat) {
			t.Errorf("Verify(%q) = %v, %v; want ErrHashFormat", enc, rehash, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"empty", "", auth.ErrPasswordTooShort},
		{"7 chars", "1234567", auth.ErrPasswordTooShort},
		{"8 chars", "12345678", nil},
		{"7 multibyte runes (14 bytes)", strings.Repeat("ä", 7), auth.ErrPasswordTooShort},
		{"8 multibyte runes", strings.Repeat("ä", 8), nil},
		{"7 emoji (28 bytes)", strings.Repeat("🔑", 7), auth.ErrPasswordTooShort},
		{"8 emoji", strings.Repeat("🔑", 8), nil},
		{"spaces count", "        ", nil},
		{"256 bytes", strings.Repeat("a", 256), nil},
		{"257 bytes", strings.Repeat("a", 257), auth.ErrPasswordTooLong},
		{"64 emoji = 256 bytes", strings.Repeat("🔑", 64), nil},
		{"65 emoji = 260 bytes", strings.Repeat("🔑", 65), auth.ErrPasswordTooLong},
		{"128 two-byte runes = 256 bytes", strings.Repeat("ä", 128), nil},
		{"129 two-byte runes = 258 bytes", strings.Repeat("ä", 129), auth.ErrPasswordTooLong},
		{"1 MiB", strings.Repeat("a", 1<<20), auth.ErrPasswordTooLong},
		{"too long wins over NUL", strings.Repeat("\x00", 300), auth.ErrPasswordTooLong},
		{"NUL inside", "pass\x00word", auth.ErrPasswordInvalid},
		{"NUL at start", "\x00password", auth.ErrPasswordInvalid},
		{"NUL at end", "password\x00", auth.ErrPasswordInvalid},
		{"short with NUL", "a\x00", auth.ErrPasswordInvalid},
		{"invalid utf-8", "password\xff", auth.ErrPasswordInvalid},
		{"truncated utf-8", "password\xc3", auth.ErrPasswordInvalid},
		{"surrogate", "password\xed\xa0\x80", auth.ErrPasswordInvalid},
		{"overlong encoding of NUL", "password\xc0\x80", auth.ErrPasswordInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.CheckPassword(tt.pw)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckPassword(%d bytes) = %v, want nil", len(tt.pw), err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckPassword(%q...) = %v, want %v", trunc(tt.pw), err, tt.want)
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

func TestNewPasswordsConcurrencyMinimum(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{-5, 1}, {0, 1}, {1, 1}, {3, 3}} {
		if got := auth.HashSlots(auth.NewPasswords(cheap, tt.in)); got != tt.want {
			t.Errorf("NewPasswords(_, %d) has %d slots, want %d", tt.in, got, tt.want)
		}
	}
}

func TestHashBusy(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, concurrency := range []int{1, 3} {
		t.Run(fmt.Sprintf("concurrency %d", concurrency), func(t *testing.T) {
			p := newCheap(t, concurrency)
			h := mustHash(t, p, "password123")

			// One slot short of full: a hash still runs without waiting.
			release := auth.HoldHashSlots(p, concurrency-1)
			mustHash(t, p, "password123")
			release()

			// All slots held: every call gives up when its context is done.
			release = auth.HoldHashSlots(p, concurrency)
			if _, err := p.Hash(cancelled, "password123"); !errors.Is(err, auth.ErrHashBusy) {
				t.Errorf("Hash(cancelled ctx, slots full) = %v, want ErrHashBusy", err)
			}
			if _, err := p.Verify(cancelled, h, "password123"); !errors.Is(err, auth.ErrHashBusy) {
				t.Errorf("Verify(cancelled ctx, slots full) = %v, want ErrHashBusy", err)
			}
			short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
			if _, err := p.Hash(short, "password123"); !errors.Is(err, auth.ErrHashBusy) {
				t.Errorf("Hash(ctx with deadline, slots full) = %v, want ErrHashBusy", err)
			}
			cancelShort()
			release()

			// Slots are free again and none leaked from the calls above.
			ctx, cancelCtx := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancelCtx()
			for range concurrency + 2 {
				if _, err := p.Hash(ctx, "password123"); err != nil {
					t.Fatalf("Hash after release = %v", err)
				}
				if _, err := p.Verify(ctx, h, "password123"); err != nil {
					t.Fatalf("Verify after release = %v", err)
				}
			}
		})
	}
}

func TestHashWaitsForSlot(t *testing.T) {
	// A caller whose context is still live waits for a slot rather than failing.
	p := newCheap(t, 1)
	release := auth.HoldHashSlots(p, 1)
	type result struct {
		h   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		h, err := p.Hash(context.Background(), "password123")
		done <- result{h, err}
	}()
	release()
	r := <-done
	if r.err != nil {
		t.Fatalf("waiting Hash = %v, want nil", r.err)
	}
	if _, err := p.Verify(context.Background(), r.h, "password123"); err != nil {
		t.Fatalf("Verify(hash from waiting caller) = %v", err)
	}
}

func TestPasswordsConcurrentUse(t *testing.T) {
	p := newCheap(t, 2)
	h := mustHash(t, p, "password123")
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			pw := fmt.Sprintf("password-%d", i)
			hi, err := p.Hash(ctx, pw)
			if err != nil {
				errs <- err
				return
			}
			if _, err := p.Verify(ctx, hi, pw); err != nil {
				errs <- fmt.Errorf("Verify own hash: %w", err)
			}
			if _, err := p.Verify(ctx, h, pw); !errors.Is(err, auth.ErrPasswordMismatch) {
				errs <- fmt.Errorf("Verify other hash = %v", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
