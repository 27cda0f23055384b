// Package redisbroker carries published seat events to every instance through Redis Pub/Sub.
package redisbroker

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/tickets"
)

// DefaultChannel is the channel events travel on, under the deployment's key prefix.
const DefaultChannel = "bx:seat-events"

// Broker publishes each batch of events as one message (a JSON array) on one channel that every
// instance listens to; instances ignore the screenings they do not stream. Pub/Sub is
// fire-and-forget: a message sent while an instance is disconnected is lost to it, and the
// hub finds the missing versions in the outbox.
type Broker struct {
	rdb     redis.UniversalClient
	channel string
}

// New returns a broker over rdb on channel (DefaultChannel when empty).
func New(rdb redis.UniversalClient, channel string) *Broker {
	if channel == "" {
		channel = DefaultChannel
	}
	return &Broker{rdb: rdb, channel: channel}
}

// idleCheck is how long Listen waits on a quiet channel before it pings Redis.
const idleCheck = 15 * time.Second

// wireEvent is an event on the channel.
type wireEvent struct {
	S string       `json:"s"` // screening
	V int64        `json:"v"`
	C []wireChange `json:"c"`
	T time.Time    `json:"t"`
}

type wireChange struct {
	ID string            `json:"i"`
	St tickets.SeatState `json:"s"`
}

// Publish sends events as one message.
func (b *Broker) Publish(ctx context.Context, events []tickets.SeatEvent) error {
	if len(events) == 0 {
		return nil
	}
	wire := make([]wireEvent, len(events))
	for i, ev := range events {
		w := wireEvent{S: ev.ScreeningID, V: ev.Version, T: ev.At, C: make([]wireChange, len(ev.Seats))}
		for j, c := range ev.Seats {
			w.C[j] = wireChange{ID: c.SeatID, St: c.Status}
		}
		wire[i] = w
	}
	msg, err := json.Marshal(wire)
	if err != nil {
		return err
	}
	return b.rdb.Publish(ctx, b.channel, msg).Err()
}

// Listen subscribes to the channel and passes each event to deliver until ctx ends or the
// connection breaks (the error). A message that does not decode is skipped.
func (b *Broker) Listen(ctx context.Context, subscribed func(), deliver func(tickets.SeatEvent)) error {
	ps := b.rdb.Subscribe(ctx, b.channel)
	defer ps.Close()
	// go-redis does not stop a blocked read when ctx ends: closing the subscription does.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		return err
	}
	subscribed()
	for {
		// A quiet channel is checked with a PING every idleCheck, so that a connection that died
		// without a word (no RST) is noticed.
		m, err := ps.ReceiveTimeout(ctx, idleCheck)
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &ne) && ne.Timeout():
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		msg, ok := m.(*redis.Message)
		if !ok {
			continue // a pong or a subscription notice
		}
		var wire []wireEvent
		if json.Unmarshal([]byte(msg.Payload), &wire) != nil {
			continue
		}
		for _, w := range wire {
			ev := tickets.SeatEvent{ScreeningID: w.S, Version: w.V, At: w.T, Seats: make([]tickets.SeatChange, len(w.C))}
			for j, c := range w.C {
				ev.Seats[j] = tickets.SeatChange{SeatID: c.ID, Status: c.St}
			}
			deliver(ev)
		}
	}
}
