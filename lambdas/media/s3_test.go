package media_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/dispatchrelay/dispatch-relay/lambdas/media"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

func TestS3StoreAndPresign(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("media-test"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{Region: "us-east-1", UsePathStyle: true, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", "")})
	fake := faketwilio.Start(t)
	m := media.NewS3(client, "media-test", media.Fetcher{APIBase: fake.URL(),
		Credentials: func() (string, string) { return fake.AccountSID(), fake.AuthToken() }})
	ctx := context.Background()
	src := fake.AddMedia("image/png", []byte("PNGDATA"))
	ct, n, err := m.Store(ctx, "qdn/SMrelay/SMin-0", src, relay.MaxMediaBytes)
	if err != nil || ct != "image/png" || n != 7 {
		t.Fatalf("Store = %q %d %v", ct, n, err)
	}
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("media-test"), Key: aws.String("media/qdn/SMrelay/SMin-0")})
	if err != nil {
		t.Fatalf("stored object: %v", err)
	}
	b, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(b) != "PNGDATA" || aws.ToString(obj.ContentType) != "image/png" {
		t.Errorf("object %q %s", b, aws.ToString(obj.ContentType))
	}
	u, err := m.URL(ctx, "qdn/SMrelay/SMin-0", time.Now().Add(time.Hour))
	if err != nil || !strings.Contains(u, "X-Amz-Expires=3600") && !strings.Contains(u, "X-Amz-Expires=3599") {
		t.Fatalf("URL = %s, %v; want a presigned URL for an hour", u, err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "PNGDATA" {
		t.Errorf("GET presigned: %d %q", resp.StatusCode, b)
	}
	if _, err := m.URL(ctx, "../x", time.Now()); !relay.IsKind(err, relay.Invalid) {
		t.Errorf("bad key: %v", err)
	}
}
