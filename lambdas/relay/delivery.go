package relay

import (
	"context"
)

// DeliveryUpdate is a Twilio status callback for one attempt.
type DeliveryUpdate struct {
	TenantID   string
	RelayID    string
	Attempt    int
	MessageSid string
	Status     string
	ErrorCode  int
}

// deliveryRank orders statuses so that a late "sent" never overwrites
// "delivered"; final statuses share the top rank.
func deliveryRank(s string) int {
	switch s {
	case DeliveryRetry, DeliveryDispatching, "":
		return 0
	case DeliveryAccepted, "scheduled":
		return 1
	case DeliveryQueued:
		return 2
	case DeliverySending:
		return 3
	case DeliverySent:
		return 4
	case DeliveryDelivered, DeliveryUndelivered, DeliveryFailed, DeliverySkipped, "canceled":
		return 5
	case DeliveryRead:
		return 6
	}
	return -1
}

// forward reports whether a delivery status may replace cur: statuses only
// move forward (queued < sending < sent < delivered < read), failed,
// undelivered and skipped are final, and a late report changes nothing.
func forward(cur, next string) bool {
	switch cur {
	case DeliveryRetry, DeliveryDispatching:
		return true
	case DeliveryFailed, DeliveryUndelivered, DeliverySkipped, "canceled":
		return false
	}
	return deliveryRank(next) > deliveryRank(cur)
}

// HandleDelivery records a delivery status; failed or undelivered for the
// current attempt of an open relay fails over at once.
func (s *Service) HandleDelivery(ctx context.Context, u DeliveryUpdate) error {
	if deliveryRank(u.Status) < 0 {
		return Errorf(Invalid, "unknown message status %q", u.Status)
	}
	moved := false
	r, err := s.update(ctx, u.TenantID, u.RelayID, nil, func(x *Relay) (bool, error) {
		moved = false
		n := u.Attempt
		if n == 0 {
			for _, a := range x.Attempts {
				if a.MessageSid != "" && a.MessageSid == u.MessageSid {
					n = a.N
				}
			}
		}
		a := x.Attempt(n)
		if a == nil || (a.MessageSid != "" && u.MessageSid != "" && a.MessageSid != u.MessageSid) {
			return false, Errorf(NotFound, "relay %s has no attempt for message %s", u.RelayID, u.MessageSid)
		}
		u.Attempt = n
		if a.MessageSid == "" && u.MessageSid != "" && !s.held(&a.Outbound, s.now()) {
			// The sender is gone and its answer with it, but Twilio accepted
			// the text: the intent is settled here, with its audit event.
			// (While a sender holds the intent, it records the answer itself.)
			now := s.now()
			outcome(&a.Outbound, Sent{Sid: u.MessageSid, Status: u.Status}, nil, now)
			x.Outbox = append(x.Outbox, s.sendEvent(x, *a, nil, now))
		}
		if !forward(a.Delivery, u.Status) {
			return false, nil
		}
		a.Delivery, moved = u.Status, true
		if u.ErrorCode != 0 {
			a.ErrorCode = u.ErrorCode
		}
		if u.Status == DeliveryFailed || u.Status == DeliveryUndelivered {
			ev := s.event(x, *a)
			ev.Event, ev.RoutingReason, ev.ErrorCode, ev.Error = EventDelivery, ReasonDeliveryFailed, u.ErrorCode, "message "+u.Status
			x.Outbox = append(x.Outbox, ev)
		}
		return true, nil
	})
	if err != nil || !moved {
		return err
	}
	s.flush(ctx, &r)
	if u.Status != DeliveryFailed && u.Status != DeliveryUndelivered {
		return nil
	}
	a := r.Attempt(u.Attempt)
	if r.Status != StatusPending || len(r.Attempts) != u.Attempt || a.Fallback {
		return nil
	}
	_, _, err = s.advance(ctx, r, move{reason: ReasonDeliveryFailed, actor: "twilio"}, stillAt(u.Attempt))
	if err == errNothing {
		return nil
	}
	return err
}
