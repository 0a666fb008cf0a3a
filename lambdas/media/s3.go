package media

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dispatchrelay/dispatch-relay/lambdas/awserr"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Prefix is where media objects live in their bucket: media/<tenant>/<relay>/<sid>-<n>.
const Prefix = "media/"

// S3 stores media in a bucket and serves it through presigned GET URLs.
type S3 struct {
	Fetcher
	Client  *s3.Client
	Presign *s3.PresignClient
	Bucket  string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ relay.Media = (*S3)(nil)

// NewS3 returns an S3 media store on bucket.
func NewS3(client *s3.Client, bucket string, f Fetcher) *S3 {
	return &S3{Fetcher: f, Client: client, Presign: s3.NewPresignClient(client), Bucket: bucket}
}

// Store fetches src (at most maxBytes, held in memory: 5 MB) and puts it under Prefix+key.
func (m *S3) Store(ctx context.Context, key, src string, maxBytes int64) (string, int64, error) {
	if !keyRe.MatchString(key) {
		return "", 0, relay.Errorf(relay.Invalid, "bad media key")
	}
	var buf bytes.Buffer
	ct, n, err := m.Fetch(ctx, src, maxBytes, &buf)
	if err != nil {
		return "", 0, err
	}
	in := &s3.PutObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String(Prefix + key), Body: bytes.NewReader(buf.Bytes()),
		ContentLength: aws.Int64(n)}
	if ct != "" {
		in.ContentType = aws.String(ct)
	}
	if _, err := m.Client.PutObject(ctx, in); err != nil {
		return "", 0, fmt.Errorf("store media %s: %w", key, awserr.Classify(err, "s3 put media", nil))
	}
	return ct, n, nil
}

// URL presigns a GET of key that works until expires (at least a minute).
func (m *S3) URL(ctx context.Context, key string, expires time.Time) (string, error) {
	if !keyRe.MatchString(key) {
		return "", relay.Errorf(relay.Invalid, "bad media key")
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	life := max(expires.Sub(now()), time.Minute)
	req, err := m.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String(Prefix + key)},
		s3.WithPresignExpires(life))
	if err != nil {
		return "", fmt.Errorf("presign media %s: %w", key, awserr.Classify(err, "s3 presign media", nil))
	}
	return req.URL, nil
}

// DeleteSource deletes Twilio's copy.
func (m *S3) DeleteSource(ctx context.Context, src string) error { return m.Delete(ctx, src) }
