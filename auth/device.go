package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// DevicePrefix starts every device token.
const DevicePrefix = "bxd_"

// deviceRawLen is user id ‖ nonce ‖ tag.
const deviceRawLen = 16 + 16 + 16

// DeviceTokens mint and check device tokens (OWASP's "device cookies"): a login that succeeds
// hands the client a token naming the user, and later logins that present it come from a
// device the user has signed in on before. Such logins are exempt from the account-wide
// failed-login limit that an attacker guessing from many networks can exhaust, so the owner is
// never locked out by someone else's failures; they still have limits of their own. A token is
// "bxd_" + base64url(user id ‖ nonce ‖ HMAC tag): stateless, bound to one user, unforgeable
// without the deployment's key. It is not a credential: it signs no one in.
type DeviceTokens struct{ keys [][]byte }

// NewDeviceTokens derives the device-token keys from the deployment's key ring: tokens are
// issued with the current secret's key and accepted under any secret's. keys must come from
// NewKeyRing (it panics on a nil ring).
func NewDeviceTokens(keys *KeyRing) *DeviceTokens {
	return &DeviceTokens{keys: keys.derive("boxoffice device-token key v1")}
}

// Issue returns a new device token for user userID, or ErrInvalidID.
func (d *DeviceTokens) Issue(userID string) (string, error) {
	uid, err := ParseID(userID)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 0, deviceRawLen)
	raw = append(raw, uid[:]...)
	var nonce [16]byte
	rand.Read(nonce[:])
	raw = append(raw, nonce[:]...)
	raw = append(raw, d.tag(0, raw)...)
	return DevicePrefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

// User returns the user a device token was issued to, and false for anything that is not a
// device token this deployment issued.
func (d *DeviceTokens) User(tok string) (string, bool) {
	b64, ok := strings.CutPrefix(tok, DevicePrefix)
	if !ok || len(b64) != (deviceRawLen*8+5)/6 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != deviceRawLen {
		return "", false
	}
	for i := range d.keys {
		if hmac.Equal(raw[32:], d.tag(i, raw[:32])) {
			return encodeID(raw[:16]), true
		}
	}
	return "", false
}

func (d *DeviceTokens) tag(i int, body []byte) []byte {
	m := hmac.New(sha256.New, d.keys[i])
	m.Write([]byte("device\x00"))
	m.Write(body[:32])
	return m.Sum(nil)[:16]
}
