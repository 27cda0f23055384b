package auth

import (
	"context"
	"errors"
	"time"
)

// RoleAdmin is the role that may manage other users' sessions.
const RoleAdmin = "admin"

// User is an account. PasswordHash is a PHC-formatted argon2id string and never leaves the server.
type User struct {
	ID           string
	Username     string // canonical form, see CanonicalUsername
	DisplayName  string
	PasswordHash string
	Roles        []string
	CreatedAt    time.Time
	// CredentialEpoch counts the user's password changes. A login creates its session only if
	// the epoch is still the one it read with the hash it verified, so a password change can
	// never miss a session created by a login racing it.
	CredentialEpoch int64
}

// HasRole reports whether the user holds role.
func (u User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Sentinel errors of user storage.
var (
	ErrUserNotFound  = errors.New("auth: user not found")
	ErrUsernameTaken = errors.New("auth: username taken")
)

// UserStore keeps accounts. Implementations return ErrUserNotFound and ErrUsernameTaken as
// documented and wrap every other failure.
type UserStore interface {
	// CreateUser stores u; it returns ErrUsernameTaken when u.Username is already registered.
	CreateUser(ctx context.Context, u User) error
	// UserByUsername looks up a canonical username; ErrUserNotFound when absent.
	UserByUsername(ctx context.Context, username string) (User, error)
	// UserByID looks up an id; ErrUserNotFound when absent.
	UserByID(ctx context.Context, id string) (User, error)
	// SetPasswordHash replaces the stored hash if it still equals old (so a concurrent password
	// change is never overwritten by a rehash); it reports whether it replaced it.
	SetPasswordHash(ctx context.Context, id, old, new string) (bool, error)
}
