package session

import "golang.org/x/sys/unix"

// pending reports whether bytes (or the end of the stream) wait unread on the socket fd: one
// poll(2) with a zero timeout, under a microsecond and no allocation. An error counts as
// pending, so that the cache does not serve.
func pending(fd int) bool {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds[:], 0)
	return err != nil || n > 0
}
