package session

import (
	"bytes"
	"errors"
	"strconv"
)

// This file is the small RESP2 codec of the invalidation link (tracking.go), which owns its
// connection so that a cached read can ask whether unread invalidations wait on the socket —
// something no go-redis connection exposes.

// respValue is one decoded RESP2 value: a simple string, error, integer, bulk string (nil
// when null) or array (nil when null).
type respValue struct {
	kind byte // '+', '-', ':', '$' or '*'
	str  string
	num  int64
	null bool
	arr  []respValue
}

// errRESP reports bytes that are not RESP2.
var errRESP = errors.New("session: invalid RESP reply on the invalidation link")

// respMaxBulk bounds a bulk string (a key name) and respMaxArray an array's length.
const (
	respMaxBulk  = 1 << 20
	respMaxArray = 1 << 16
)

// parseRESP decodes the first value in b. It returns the value and the bytes it used, or n == 0
// when b holds only part of a value, or errRESP.
func parseRESP(b []byte) (v respValue, n int, err error) {
	return parseAt(b, 0, 0)
}

func parseAt(b []byte, at, depth int) (respValue, int, error) {
	if depth > 4 {
		return respValue{}, 0, errRESP
	}
	end := bytes.Index(b[at:], []byte("\r\n"))
	if end < 0 {
		if len(b)-at > 64 { // no header is that long
			return respValue{}, 0, errRESP
		}
		return respValue{}, 0, nil
	}
	if end == 0 {
		return respValue{}, 0, errRESP
	}
	line, next := b[at+1:at+end], at+end+2
	v := respValue{kind: b[at]}
	switch v.kind {
	case '+', '-':
		v.str = string(line)
		return v, next, nil
	case ':':
		n, err := strconv.ParseInt(string(line), 10, 64)
		if err != nil {
			return respValue{}, 0, errRESP
		}
		v.num = n
		return v, next, nil
	case '$':
		size, err := strconv.Atoi(string(line))
		switch {
		case err != nil || size < -1 || size > respMaxBulk:
			return respValue{}, 0, errRESP
		case size == -1:
			v.null = true
			return v, next, nil
		case len(b) < next+size+2:
			return respValue{}, 0, nil
		case b[next+size] != '\r' || b[next+size+1] != '\n':
			return respValue{}, 0, errRESP
		}
		v.str = string(b[next : next+size])
		return v, next + size + 2, nil
	case '*':
		count, err := strconv.Atoi(string(line))
		switch {
		case err != nil || count < -1 || count > respMaxArray:
			return respValue{}, 0, errRESP
		case count == -1:
			v.null = true
			return v, next, nil
		}
		v.arr = make([]respValue, 0, min(count, (len(b)-next)/4)) // each element takes 4 bytes at least
		for range count {
			e, n, err := parseAt(b, next, depth+1)
			if err != nil || n == 0 {
				return respValue{}, 0, err
			}
			v.arr = append(v.arr, e)
			next = n
		}
		return v, next, nil
	}
	return respValue{}, 0, errRESP
}

// appendCommand appends one command as a RESP2 array of bulk strings.
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}
