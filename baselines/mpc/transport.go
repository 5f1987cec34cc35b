package mpc

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// headerBytes is the framing of every message: the payload length in 64-bit words (uint32) and the sender's
// round depth (uint32), little-endian. It is counted in the byte totals like the payload.
const headerBytes = 8

// wordBytes is the size of one ring element on the wire (raw little-endian).
const wordBytes = 8

// maxMessageWords bounds one message (a corrupt header must not make the reader allocate gigabytes).
const maxMessageWords = 1 << 28

// link is one end of a TCP connection. It counts the bytes and messages this end wrote; reads are timed so that a
// party's busy time can exclude the time it spent waiting for the other side.
type link struct {
	conn     net.Conn
	sent     atomic.Int64 // bytes written by this end, framing included
	messages atomic.Int64 // messages written by this end
}

// send writes one framed message carrying words; depth is the sender's round depth (see party.depth).
func (l *link) send(depth uint32, words []uint64) error {
	if len(words) > maxMessageWords {
		return fmt.Errorf("send: message of %d words exceeds %d", len(words), maxMessageWords)
	}
	buf := make([]byte, headerBytes+wordBytes*len(words))
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(words)))
	binary.LittleEndian.PutUint32(buf[4:], depth)
	for i, w := range words {
		binary.LittleEndian.PutUint64(buf[headerBytes+wordBytes*i:], w)
	}
	n, err := l.conn.Write(buf)
	l.sent.Add(int64(n))
	if err != nil {
		return fmt.Errorf("send %d words: %w", len(words), err)
	}
	l.messages.Add(1)
	return nil
}

// recv reads one framed message that must carry exactly want words; it returns them, the sender's depth and how
// long the call blocked.
func (l *link) recv(want int) ([]uint64, uint32, time.Duration, error) {
	start := time.Now()
	var hdr [headerBytes]byte
	if _, err := io.ReadFull(l.conn, hdr[:]); err != nil {
		return nil, 0, time.Since(start), fmt.Errorf("recv header: %w", err)
	}
	n := int(binary.LittleEndian.Uint32(hdr[0:]))
	depth := binary.LittleEndian.Uint32(hdr[4:])
	if n != want {
		return nil, 0, time.Since(start), fmt.Errorf("recv: message of %d words where the protocol expects %d (parties out of step)", n, want)
	}
	buf := make([]byte, wordBytes*n)
	if _, err := io.ReadFull(l.conn, buf); err != nil {
		return nil, 0, time.Since(start), fmt.Errorf("recv %d words: %w", n, err)
	}
	waited := time.Since(start)
	words := make([]uint64, n)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(buf[wordBytes*i:])
	}
	return words, depth, waited, nil
}

// connectLoopback opens n TCP connections over 127.0.0.1 and returns both ends of each (dialler, acceptor).
func connectLoopback(ctx context.Context, n int) (dialled, accepted []net.Conn, err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("listen on loopback: %w", err)
	}
	defer ln.Close()
	closeAll := func() {
		for _, c := range append(dialled, accepted...) {
			c.Close()
		}
	}
	var d net.Dialer
	for range n {
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("dial %s: %w", ln.Addr(), err)
		}
		dialled = append(dialled, c)
		if tl, ok := ln.(*net.TCPListener); ok {
			if err := tl.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("accept deadline: %w", err)
			}
		}
		a, err := ln.Accept()
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		accepted = append(accepted, a)
	}
	for _, c := range append(dialled, accepted...) {
		if tc, ok := c.(*net.TCPConn); ok {
			if err := tc.SetNoDelay(true); err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("TCP_NODELAY: %w", err)
			}
		}
	}
	return dialled, accepted, nil
}
