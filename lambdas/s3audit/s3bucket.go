package s3audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of *s3.Client that S3Bucket uses.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// S3Bucket is a Bucket in Amazon S3. Keys may live under a fixed key
// prefix, which callers never see.
type S3Bucket struct {
	client S3API
	bucket string
	prefix string
}

var _ Bucket = (*S3Bucket)(nil)

// NewS3Bucket returns a Bucket that stores objects in the named S3 bucket,
// each key preceded by keyPrefix (which may be empty).
func NewS3Bucket(client S3API, bucket, keyPrefix string) *S3Bucket {
	return &S3Bucket{client: client, bucket: bucket, prefix: keyPrefix}
}

// Put writes body as a JSON object under key. It sends If-None-Match: *
// so that S3 itself refuses to replace an existing object
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
func (b *S3Bucket) Put(ctx context.Context, key string, body []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.prefix + key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String("application/json"),
		IfNoneMatch:   aws.String("*"),
	})
	if err != nil {
		return fmt.Errorf("put object %s: %w", key, classify(err, "audit storage error"))
	}
	return nil
}

// Get reads the object stored under key.
func (b *S3Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.prefix + key),
	})
	if err != nil {
		return nil, fmt.Errorf("get object %s: %w", key, classify(err, "audit storage error"))
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", key, classify(err, "audit storage error"))
	}
	return body, nil
}

// List pages through keys with ListObjectsV2, starting after startAfter.
func (b *S3Bucket) List(ctx context.Context, prefix, startAfter string, max int) ([]string, bool, error) {
	if max <= 0 {
		return nil, false, nil
	}
	in := &s3.ListObjectsV2Input{
		Bucket: aws.String(b.bucket),
		Prefix: aws.String(b.prefix + prefix),
		// One key more than wanted tells exactly whether more follow.
		MaxKeys: aws.Int32(int32(min(max+1, 1000))),
	}
	if startAfter != "" {
		in.StartAfter = aws.String(b.prefix + startAfter)
	}
	out, err := b.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, false, fmt.Errorf("list objects %s: %w", prefix, classify(err, "audit storage error"))
	}
	keys := make([]string, 0, len(out.Contents))
	for _, o := range out.Contents {
		k := aws.ToString(o.Key)
		if !strings.HasPrefix(k, b.prefix) {
			continue
		}
		keys = append(keys, strings.TrimPrefix(k, b.prefix))
	}
	more := aws.ToBool(out.IsTruncated)
	if len(keys) > max {
		keys, more = keys[:max], true
	}
	return keys, more, nil
}
