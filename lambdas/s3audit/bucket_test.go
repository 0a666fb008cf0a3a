package s3audit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

const testBucket = "relay-audit"

// newS3Client starts an in-process gofakes3 server with testBucket and
// returns a client for it.
func newS3Client(t *testing.T) *s3.Client {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""),
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
	})
}

// bucketKinds are the Bucket implementations every shared test runs on.
var bucketKinds = []struct {
	name string
	open func(t *testing.T) Bucket
}{
	{"s3", func(t *testing.T) Bucket { return NewS3Bucket(newS3Client(t), testBucket, "") }},
	{"s3-prefixed", func(t *testing.T) Bucket { return NewS3Bucket(newS3Client(t), testBucket, "env/dev/") }},
	{"dir", func(t *testing.T) Bucket {
		b, err := NewDirBucket(filepath.Join(t.TempDir(), "state"))
		if err != nil {
			t.Fatalf("NewDirBucket: %v", err)
		}
		return b
	}},
}

// forEachBucket runs f as a subtest on every Bucket implementation.
func forEachBucket(t *testing.T, f func(t *testing.T, b Bucket)) {
	for _, k := range bucketKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			f(t, k.open(t))
		})
	}
}

func TestBucketPutGet(t *testing.T) {
	forEachBucket(t, func(t *testing.T, b Bucket) {
		ctx := context.Background()
		if err := b.Put(ctx, "audit/qdn/2024/01/15/obj.json", []byte(`{"a":1}`)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err := b.Get(ctx, "audit/qdn/2024/01/15/obj.json")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if string(got) != `{"a":1}` {
			t.Errorf("got body %q, want %q", got, `{"a":1}`)
		}
		err = b.Put(ctx, "audit/qdn/2024/01/15/obj.json", []byte(`{"a":2}`))
		if got, want := relay.KindOf(err), relay.Conflict; err == nil || got != want {
			t.Errorf("second Put: got kind %v (err %v), want %v", got, err, want)
		}
		if got, _ := b.Get(ctx, "audit/qdn/2024/01/15/obj.json"); string(got) != `{"a":1}` {
			t.Errorf("after second Put got body %q, want the first", got)
		}
		_, err = b.Get(ctx, "audit/qdn/2024/01/15/missing.json")
		if got, want := relay.KindOf(err), relay.NotFound; err == nil || got != want {
			t.Errorf("Get missing: got kind %v (err %v), want %v", got, err, want)
		}
	})
}

func TestBucketPutRace(t *testing.T) {
	forEachBucket(t, func(t *testing.T, b Bucket) {
		const writers = 8
		errs := make(chan error, writers)
		for i := range writers {
			go func() { errs <- b.Put(context.Background(), "audit/t/race.json", []byte(fmt.Sprintf(`{"w":%d}`, i))) }()
		}
		ok := 0
		for range writers {
			err := <-errs
			switch {
			case err == nil:
				ok++
			case relay.KindOf(err) != relay.Conflict:
				t.Errorf("Put: got %v, want nil or a conflict", err)
			}
		}
		if ok != 1 {
			t.Errorf("got %d successful writers of one key, want 1", ok)
		}
	})
}

func TestBucketList(t *testing.T) {
	// "a-x" sorts before "a/b" ('-' < '/') although a directory walk in
	// name order would visit the directory "a" first.
	stored := []string{"p/a/b", "p/a-x", "p/a/c/d", "p/b", "p/ab", "q/z", "p/a/c/e"}
	sorted := []string{"p/a-x", "p/a/b", "p/a/c/d", "p/a/c/e", "p/ab", "p/b"}
	tests := []struct {
		name       string
		prefix     string
		startAfter string
		max        int
		want       []string
		wantMore   bool
	}{
		{name: "all in order", prefix: "p/", max: 100, want: sorted},
		{name: "max", prefix: "p/", max: 3, want: sorted[:3], wantMore: true},
		{name: "max exactly", prefix: "p/", max: 6, want: sorted},
		{name: "start after a key", prefix: "p/", startAfter: "p/a/b", max: 100, want: sorted[2:]},
		{name: "start after a non-key", prefix: "p/", startAfter: "p/a/c", max: 2, want: sorted[2:4], wantMore: true},
		{name: "start after a directory's keys", prefix: "p/", startAfter: "p/a/zzz", max: 100, want: sorted[4:]},
		{name: "partial segment prefix", prefix: "p/a", max: 100, want: sorted[:5]},
		{name: "directory prefix", prefix: "p/a/", max: 100, want: sorted[1:4]},
		{name: "no match", prefix: "r/", max: 100, want: nil},
		{name: "start after everything", prefix: "p/", startAfter: "p/c", max: 100, want: nil},
	}
	forEachBucket(t, func(t *testing.T, b Bucket) {
		ctx := context.Background()
		for _, k := range stored {
			if err := b.Put(ctx, k, []byte("{}")); err != nil {
				t.Fatalf("Put %s: %v", k, err)
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, more, err := b.List(ctx, tt.prefix, tt.startAfter, tt.max)
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("got keys %q, want %q", got, tt.want)
				}
				if more != tt.wantMore {
					t.Errorf("got more %v, want %v", more, tt.wantMore)
				}
			})
		}
	})
}

func TestS3BucketObject(t *testing.T) {
	ctx := context.Background()
	client := newS3Client(t)
	b := NewS3Bucket(client, testBucket, "env/dev/")
	if err := b.Put(ctx, "audit/x.json", []byte("{}")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("env/dev/audit/x.json")})
	if err != nil {
		t.Fatalf("GetObject under the key prefix: %v", err)
	}
	out.Body.Close()
	if got, want := aws.ToString(out.ContentType), "application/json"; got != want {
		t.Errorf("got content type %q, want %q", got, want)
	}
}

func TestS3BucketErrors(t *testing.T) {
	ctx := context.Background()
	b := NewS3Bucket(newS3Client(t), "no-such-bucket", "")
	err := b.Put(ctx, "k", []byte("{}"))
	if got, want := relay.KindOf(err), relay.Internal; err == nil || got != want {
		t.Errorf("Put to a missing bucket: got kind %v (err %v), want %v", got, err, want)
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	down := NewS3Bucket(s3.New(s3.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("A", "B", ""),
		BaseEndpoint: aws.String(url), UsePathStyle: true, RetryMaxAttempts: 1,
	}), testBucket, "")
	_, _, err = down.List(ctx, "audit/", "", 10)
	if got, want := relay.KindOf(err), relay.Transient; err == nil || got != want {
		t.Errorf("List on an unreachable endpoint: got kind %v (err %v), want %v", got, err, want)
	}
}

func TestDirBucketKeys(t *testing.T) {
	dir := t.TempDir()
	b, err := NewDirBucket(dir)
	if err != nil {
		t.Fatalf("NewDirBucket: %v", err)
	}
	ctx := context.Background()
	for _, key := range []string{"", "/abs", "a//b", "a/../b", "../b", ".hidden", "a/.tmp-1", `a\b`, "a/"} {
		if err := b.Put(ctx, key, []byte("{}")); relay.KindOf(err) != relay.Invalid {
			t.Errorf("Put(%q): got %v, want an Invalid error", key, err)
		}
	}
	if err := b.Put(ctx, "audit/t/1.json", []byte("{}")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit", "t", "1.json")); err != nil {
		t.Errorf("object file: %v", err)
	}
	// A temporary file left by a crash is not an object.
	if err := os.WriteFile(filepath.Join(dir, "audit", "t", ".tmp-123"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	keys, _, err := b.List(ctx, "audit/", "", 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if want := []string{"audit/t/1.json"}; !slices.Equal(keys, want) {
		t.Errorf("got keys %q, want %q", keys, want)
	}
}
