package s3audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// DirBucket is a Bucket kept as files under a directory, one file per key,
// for the dev server. Writes go to a temporary file that is renamed into
// place, so a reader never sees half an object.
type DirBucket struct {
	dir string
}

var _ Bucket = (*DirBucket)(nil)

// tmpPrefix starts the names of files being written; List skips them.
const tmpPrefix = ".tmp-"

// NewDirBucket returns a Bucket rooted at dir, creating dir if needed.
func NewDirBucket(dir string) (*DirBucket, error) {
	if dir == "" {
		return nil, relay.Errorf(relay.Invalid, "audit directory is empty")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create audit directory: %w", relay.Wrap(relay.Internal, err, "audit storage error"))
	}
	return &DirBucket{dir: dir}, nil
}

// checkKey refuses keys that could escape the directory or collide with
// temporary files: empty, absolute, backslashes, or a segment that is
// empty or starts with a dot.
func checkKey(key string) error {
	if key == "" || strings.ContainsAny(key, "\\\x00") {
		return relay.Errorf(relay.Invalid, "bad object key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return relay.Errorf(relay.Invalid, "bad object key %q", key)
		}
	}
	return nil
}

func (b *DirBucket) path(key string) string {
	return filepath.Join(b.dir, filepath.FromSlash(key))
}

// Put writes body to a temporary file beside the target and links it into
// place; the link fails if the key exists, so two writers of one key cannot
// both succeed and a reader never sees half an object.
func (b *DirBucket) Put(ctx context.Context, key string, body []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return relay.Wrap(relay.Transient, err, "audit storage error")
	}
	p := b.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("put object %s: %w", key, relay.Wrap(relay.Internal, err, "audit storage error"))
	}
	tmp, err := writeTemp(filepath.Dir(p), body)
	if err != nil {
		return fmt.Errorf("put object %s: %w", key, relay.Wrap(relay.Internal, err, "audit storage error"))
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, p)
	if errors.Is(err, fs.ErrExist) {
		return relay.Errorf(relay.Conflict, "object %s exists", key)
	}
	if err != nil {
		// A file system without hard links: check, then rename.
		if _, serr := os.Stat(p); serr == nil {
			return relay.Errorf(relay.Conflict, "object %s exists", key)
		}
		err = os.Rename(tmp, p)
	}
	if err != nil {
		return fmt.Errorf("put object %s: %w", key, relay.Wrap(relay.Internal, err, "audit storage error"))
	}
	return nil
}

// writeTemp writes body to a new synced temporary file in dir and returns
// its path.
func writeTemp(dir string, body []byte) (string, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// Get reads the file stored under key.
func (b *DirBucket) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	body, err := os.ReadFile(b.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, relay.Wrap(relay.NotFound, err, "audit object not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get object %s: %w", key, relay.Wrap(relay.Internal, err, "audit storage error"))
	}
	return body, nil
}

// List walks the directory tree in key order, descending only into
// directories whose keys can start with prefix and sort after startAfter,
// so listing a recent day does not read older days.
func (b *DirBucket) List(ctx context.Context, prefix, startAfter string, max int) ([]string, bool, error) {
	if max <= 0 {
		return nil, false, nil
	}
	w := walker{ctx: ctx, root: b.dir, prefix: prefix, after: startAfter, max: max}
	if err := w.walk(""); err != nil && !errors.Is(err, errStop) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, false, relay.Wrap(relay.Transient, err, "audit storage error")
		}
		return nil, false, fmt.Errorf("list objects %s: %w", prefix, relay.Wrap(relay.Internal, err, "audit storage error"))
	}
	if len(w.keys) > max {
		return w.keys[:max], true, nil
	}
	return w.keys, false, nil
}

var errStop = errors.New("stop walking")

type walker struct {
	ctx    context.Context
	root   string
	prefix string
	after  string
	max    int
	keys   []string
}

// walk lists the directory holding keys that start with base (empty or
// ending in "/"). Entries are visited in the order of the keys they hold:
// a directory's keys all start with name+"/", a file's key is its name.
func (w *walker) walk(base string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(w.root, filepath.FromSlash(base)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	type item struct {
		start string
		dir   bool
	}
	items := make([]item, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if e.IsDir() {
			items = append(items, item{start: base + name + "/", dir: true})
		} else if e.Type().IsRegular() {
			items = append(items, item{start: base + name})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].start < items[j].start })
	for _, it := range items {
		if !it.dir {
			if strings.HasPrefix(it.start, w.prefix) && it.start > w.after {
				w.keys = append(w.keys, it.start)
				if len(w.keys) > w.max {
					return errStop
				}
			}
			continue
		}
		// Every key below holds it.start as a prefix: skip the directory
		// unless it can match prefix and can sort after startAfter.
		if !strings.HasPrefix(it.start, w.prefix) && !strings.HasPrefix(w.prefix, it.start) {
			continue
		}
		if it.start <= w.after && !strings.HasPrefix(w.after, it.start) {
			continue
		}
		if err := w.walk(it.start); err != nil {
			return err
		}
	}
	return nil
}
