package session

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// reply is a script's answer: a status word and its values.
type reply struct {
	status string
	vals   []any
}

func parseReply(v any) (reply, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return reply{}, fmt.Errorf("session: unexpected script reply %T", v)
	}
	st, ok := arr[0].(string)
	if !ok {
		return reply{}, fmt.Errorf("session: unexpected script status %T", arr[0])
	}
	return reply{status: st, vals: arr[1:]}, nil
}

// gone maps the statuses every session script shares for a session that is not live.
func (r reply) gone() error {
	switch r.status {
	case "revoked":
		return ErrRevoked
	case "expired":
		return ErrExpired
	}
	return fmt.Errorf("session: unexpected script status %q", r.status)
}

// int returns the i-th value as an integer (0 and false when absent or not an integer).
func (r reply) int(i int) (int64, bool) {
	if i >= len(r.vals) {
		return 0, false
	}
	n, ok := r.vals[i].(int64)
	return n, ok
}

// flat returns the i-th value as a field/value map (an HGETALL reply).
func (r reply) flat(i int) (map[string]string, error) {
	if i >= len(r.vals) {
		return nil, fmt.Errorf("session: script reply has no value %d", i)
	}
	arr, ok := r.vals[i].([]any)
	if !ok || len(arr)%2 != 0 {
		return nil, fmt.Errorf("session: unexpected hash reply %T", r.vals[i])
	}
	m := make(map[string]string, len(arr)/2)
	for j := 0; j < len(arr); j += 2 {
		k, ok1 := arr[j].(string)
		v, ok2 := arr[j+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("session: non-string hash field")
		}
		m[k] = v
	}
	return m, nil
}

// decodeSession builds a Session from its hash fields.
func decodeSession(uid, sid string, m map[string]string) (Session, error) {
	s := Session{
		ID:         sid,
		UserID:     uid, // the key names it; sessions created before also hold it as "uid"
		DeviceName: m["dn"],
		IP:         m["ip"],
		UserAgent:  m["ua"],
		Data:       map[string]json.RawMessage{},
	}
	var err error
	num := func(field string) int64 {
		n, e := strconv.ParseInt(m[field], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("session: field %q of session %s: %w", field, sid, e)
		}
		return n
	}
	s.CreatedAt = time.UnixMilli(num("ct")).UTC()
	s.LastSeenAt = time.UnixMilli(num("ls")).UTC()
	s.IdleExpiresAt = time.UnixMilli(num("ie")).UTC()
	s.AbsoluteExpiresAt = time.UnixMilli(num("ae")).UTC()
	s.Version = num("v")
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, "d:"); ok {
			s.Data[name] = json.RawMessage(v)
		}
	}
	return s, err
}

// sessionAt decodes the i-th value of r as session sid.
func (r reply) sessionAt(i int, uid, sid string) (Session, error) {
	m, err := r.flat(i)
	if err != nil {
		return Session{}, err
	}
	return decodeSession(uid, sid, m)
}
