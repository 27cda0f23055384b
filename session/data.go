package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"unicode"
	"unicode/utf8"

	"boxoffice/auth"
)

// MaxDataKeyBytes bounds the length of one top-level session data key.
const MaxDataKeyBytes = 128

// ErrInvalidData reports a patch that is not a valid change to session data (a bad key or a
// value that is not JSON). Its message is safe to show to clients.
var ErrInvalidData = errors.New("invalid session data")

// CheckDataKey validates a top-level data key: 1–128 bytes of valid UTF-8 without control
// characters. It returns an error wrapping ErrInvalidData or nil.
func CheckDataKey(k string) error {
	if k == "" || len(k) > MaxDataKeyBytes || !utf8.ValidString(k) {
		return fmt.Errorf("%w: keys must be 1 to %d bytes of UTF-8", ErrInvalidData, MaxDataKeyBytes)
	}
	for _, r := range k {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: keys must not contain control characters", ErrInvalidData)
		}
	}
	return nil
}

// maxMergeAttempts bounds retries when concurrent writers change a key being merged.
const maxMergeAttempts = 8

// PatchData applies an RFC 7396 JSON Merge Patch to the session's data. patch maps each
// top-level key to its patch value: null deletes the key, an object is merged recursively into
// the current value, anything else replaces it. Each top-level key is written atomically, so
// patches of disjoint keys never conflict; a merged key is compare-and-set against the value it
// was merged into and retried on conflict. With ifMatch non-nil the whole patch applies only if
// the data version still equals *ifMatch.
//
// A patch that grows the data may take neither the session's data past Config.MaxDataKeys or
// Config.MaxDataBytes nor the data of all the user's sessions together past
// Config.MaxUserDataBytes.
//
// It returns the updated session, or ErrPrecondition, *DataLimitError (ErrDataTooLarge),
// ErrInvalidData, ErrConflict, ErrRevoked, ErrExpired or ErrUnavailable. A refused patch
// changes nothing.
func (s *Store) PatchData(ctx context.Context, uid, sid string, patch map[string]json.RawMessage, ifMatch *int64) (Session, error) {
	names := make([]string, 0, len(patch))
	merge, sets, setBytes := false, 0, 0
	for k, v := range patch {
		if err := CheckDataKey(k); err != nil {
			return Session{}, err
		}
		if !json.Valid(v) {
			return Session{}, fmt.Errorf("%w: value of %q is not JSON", ErrInvalidData, k)
		}
		names = append(names, k)
		switch firstByte(v) {
		case 'n':
		case '{':
			merge = true
			sets++
		default:
			sets++
			setBytes += len(k) + len(v)
		}
	}
	sort.Strings(names)
	if sets > s.cfg.MaxDataKeys || setBytes > s.cfg.MaxDataBytes {
		return Session{}, &DataLimitError{Keys: sets, Bytes: setBytes, MaxKeys: s.cfg.MaxDataKeys, MaxBytes: s.cfg.MaxDataBytes}
	}
	precond := ""
	if ifMatch != nil {
		precond = strconv.FormatInt(*ifMatch, 10)
	}
	for attempt := 0; attempt < maxMergeAttempts; attempt++ {
		var current map[string]json.RawMessage
		if merge {
			sess, err := s.Get(ctx, uid, sid)
			if err != nil {
				return Session{}, err
			}
			if ifMatch != nil && sess.Version != *ifMatch {
				return Session{}, ErrPrecondition
			}
			current = sess.Data
		}
		args := []any{s.nowMS(), s.cfg.IdleTTL.Milliseconds(), s.cfg.TouchInterval.Milliseconds(), sid,
			precond, s.cfg.MaxDataKeys, s.cfg.MaxDataBytes, auth.NewID(), s.keys.tag(uid), s.cfg.MaxUserDataBytes}
		for _, k := range names {
			v := patch[k]
			switch firstByte(v) {
			case 'n':
				args = append(args, "d", k, "", "")
			case '{':
				cur, ok := current[k]
				expect := "!"
				if ok {
					expect = string(cur)
				}
				merged, err := mergeJSON(cur, v)
				if err != nil {
					return Session{}, fmt.Errorf("%w: %v", ErrInvalidData, err)
				}
				args = append(args, "s", k, merged, expect)
			default:
				var buf bytes.Buffer
				_ = json.Compact(&buf, v) // validated above
				args = append(args, "s", k, buf.String(), "")
			}
		}
		r, err := s.run(ctx, "patch", s.sc.patch,
			[]string{s.keys.session(uid, sid), s.keys.revoked(uid, sid), s.keys.index(uid)}, args...)
		if err != nil {
			return Session{}, err
		}
		switch r.status {
		case "ok":
			return r.sessionAt(0, uid, sid)
		case "precondition":
			return Session{}, ErrPrecondition
		case "conflict":
			continue
		case "too_large":
			k, _ := r.int(0)
			b, _ := r.int(1)
			u, _ := r.int(2)
			return Session{}, &DataLimitError{Keys: int(k), Bytes: int(b), MaxKeys: s.cfg.MaxDataKeys,
				MaxBytes: s.cfg.MaxDataBytes, UserBytes: int(u), MaxUserBytes: s.cfg.MaxUserDataBytes}
		default:
			return Session{}, r.gone()
		}
	}
	return Session{}, ErrConflict
}

// firstByte returns the first non-space byte of a JSON text.
func firstByte(v []byte) byte {
	for _, c := range v {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// mergeJSON applies RFC 7396 MergePatch(target, patch) and returns compact JSON. A missing or
// non-object target counts as {}; numbers keep their exact text.
func mergeJSON(target, patch []byte) (string, error) {
	var t, p any
	if len(target) > 0 {
		if err := decodeNumber(target, &t); err != nil {
			return "", err
		}
	}
	if err := decodeNumber(patch, &p); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(mergePatch(t, p)); err != nil {
		return "", err
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// mergePatch is RFC 7396 section 2's MergePatch over decoded JSON.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = mergePatch(t[k], v)
		}
	}
	return t
}

func decodeNumber(b []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
