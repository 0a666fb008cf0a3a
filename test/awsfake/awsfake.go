// Package awsfake holds small in-process stand-ins for the AWS APIs the
// relay's Lambda wiring needs beside dynalite and gofakes3: Secrets
// Manager's GetSecretValue and an SQS queue that accepts SendMessage with
// DelaySeconds and delivers due messages to a Lambda-style handler, with
// redelivery of failed messages as the event source mapping does.
package awsfake

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// Secrets serves Secrets Manager's GetSecretValue (JSON 1.1) from a map of
// secret id (ARN) to value.
type Secrets map[string]string

// ServeHTTP answers GetSecretValue.
func (s Secrets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		fail(w, http.StatusBadRequest, "UnknownOperationException", "only GetSecretValue is served")
		return
	}
	var in struct{ SecretId string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", "bad body")
		return
	}
	v, ok := s[in.SecretId]
	if !ok {
		fail(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": in.SecretId, "SecretString": v,
		"VersionId": "v1", "CreatedDate": float64(time.Now().Unix())})
}

// message is one queued SQS message.
type message struct {
	id       string
	body     string
	visible  time.Time
	receives int
}

// Queue is one SQS queue: SendMessage over HTTP (awsJson1_0), delivery by
// Run. MaxReceives failed deliveries move a message to the dead letters.
type Queue struct {
	// Copies delivers each message this many times (at least once), as
	// SQS's at-least-once delivery may.
	Copies int
	// Visibility is the wait before a failed message is delivered again
	// (default 1 s).
	Visibility time.Duration
	// MaxReceives moves a message to DeadLetters after this many failed
	// deliveries (default 5).
	MaxReceives int
	// Concurrency is how many batches are handled at once, as Lambda runs
	// several instances of the consumer (default 5).
	Concurrency int

	mu      sync.Mutex
	seq     int
	pending []*message
	sent    int
	dead    []string
}

// ServeHTTP answers SendMessage.
func (q *Queue) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessage" {
		fail(w, http.StatusBadRequest, "com.amazon.coral.service#UnknownOperationException", "only SendMessage is served")
		return
	}
	b, _ := io.ReadAll(r.Body)
	var in struct {
		QueueUrl     string
		MessageBody  string
		DelaySeconds int32
	}
	if err := json.Unmarshal(b, &in); err != nil || in.MessageBody == "" {
		fail(w, http.StatusBadRequest, "com.amazonaws.sqs#InvalidParameterValue", "bad request body")
		return
	}
	if in.DelaySeconds < 0 || in.DelaySeconds > 900 {
		fail(w, http.StatusBadRequest, "com.amazonaws.sqs#InvalidParameterValue", "DelaySeconds must be 0..900")
		return
	}
	q.mu.Lock()
	q.seq++
	q.sent++
	id := "msg-" + strconv.Itoa(q.seq)
	due := time.Now().Add(time.Duration(in.DelaySeconds) * time.Second)
	for range max(q.Copies, 1) {
		q.pending = append(q.pending, &message{id: id, body: in.MessageBody, visible: due})
	}
	q.mu.Unlock()
	sum := md5.Sum([]byte(in.MessageBody))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": id, "MD5OfMessageBody": hex.EncodeToString(sum[:])})
}

// Handler is a Lambda SQS handler with partial batch responses.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Pending is the number of messages not yet delivered for good.
func (q *Queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Stats returns how many messages were sent and how many went to the dead letters.
func (q *Queue) Stats() (sent, dead int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.sent, len(q.dead)
}

// Run delivers due messages to h in batches of up to 10, earliest due
// first, up to Concurrency batches at once, until ctx ends. A message in a
// batch is invisible until its batch returns; a failed one (an error, or
// listed in the batch item failures) is delivered again after Visibility.
func (q *Queue) Run(ctx context.Context, h Handler) {
	vis := q.Visibility
	if vis <= 0 {
		vis = time.Second
	}
	maxRecv := q.MaxReceives
	if maxRecv <= 0 {
		maxRecv = 5
	}
	sem := make(chan struct{}, max(q.Concurrency, 5))
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for {
			now := time.Now()
			q.mu.Lock()
			sort.SliceStable(q.pending, func(i, j int) bool { return q.pending[i].visible.Before(q.pending[j].visible) })
			var batch []*message
			for _, m := range q.pending {
				if len(batch) == 10 || m.visible.After(now) {
					break
				}
				m.visible = now.Add(time.Hour) // in flight
				batch = append(batch, m)
			}
			q.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				q.deliver(ctx, h, batch, vis, maxRecv)
			}()
		}
	}
}

func (q *Queue) deliver(ctx context.Context, h Handler, batch []*message, vis time.Duration, maxRecv int) {
	ev := events.SQSEvent{}
	for i, m := range batch {
		m.receives++
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("%s#%d", m.id, i), Body: m.body,
			Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives)}})
	}
	resp, err := h(ctx, ev)
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, m := range batch {
		switch {
		case err == nil && !failed[ev.Records[i].MessageId]:
			q.remove(m)
		case m.receives >= maxRecv:
			q.remove(m)
			q.dead = append(q.dead, m.body)
		default:
			m.visible = time.Now().Add(vis)
		}
	}
}

func (q *Queue) remove(m *message) {
	for i, p := range q.pending {
		if p == m {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			return
		}
	}
}
