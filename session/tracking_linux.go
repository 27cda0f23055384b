package session

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// pending reports whether bytes (or the end of the stream) wait unread on the link's socket:
// one poll(2) with a zero timeout, about a microsecond.
func pending(rc syscall.RawConn) bool {
	ready := true // when the socket cannot be asked, assume the worst
	_ = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		ready = err != nil || n > 0
	})
	return ready
}
