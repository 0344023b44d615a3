package image

import (
	"context"
	"errors"
	"io"
	"net"
	"os"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/client"

	"github.com/imagegate/imagegate/failure"
)

// daemonConfigured says whether a Docker daemon may be reachable: DOCKER_HOST names one,
// or the default socket exists.
func daemonConfigured() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	_, err := os.Stat("/var/run/docker.sock")
	return err == nil
}

func openDaemon(ctx context.Context, ref string, o openOptions) (*Image, error) {
	if _, err := name.ParseReference(ref); err != nil {
		return nil, failure.Inputf("docker-daemon %q: not a valid reference: %w", ref, err)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, &daemonError{kind: failure.Incompletef("docker-daemon %q: no Docker daemon is reachable (is DOCKER_HOST set and the daemon running?): %w", ref, err), missing: true}
	}
	defer cli.Close()
	_, _ = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	// Ask for the image first: a missing image or daemon is found here, before a save.
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		return nil, daemonFailure(ref, err)
	}
	if o.platform == AllPlatforms {
		return nil, ErrSinglePlatform // listing: no save for an image of one platform
	}
	// One 'docker save' into a temporary file (the run's temporary folder, removed at
	// exit), then read as any docker-archive: its layers straight from the tar, in
	// parallel, gzip and zstd with the fast decompressors.
	rc, err := cli.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, daemonFailure(ref, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "imagegate-docker-save-*.tar")
	if err != nil {
		return nil, failure.Incompletef("docker-daemon %q: a temporary file for the image: %w", ref, unwrapPathError(err))
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, failure.Incompletef("docker-daemon %q: docker save: %w", ref, err)
	}
	img, err := openDockerArchive(f.Name(), o)
	if err != nil {
		os.Remove(f.Name())
		return nil, failure.Incompletef("docker-daemon %q: the daemon's docker save: %w", ref, err)
	}
	return img, nil
}

// daemonFailure classifies a daemon error: no daemon there, or no such image, lets a name
// lookup go on to the next source.
func daemonFailure(ref string, err error) error {
	var dial *net.OpError
	switch {
	case client.IsErrConnectionFailed(err) || (errors.As(err, &dial) && dial.Op == "dial"):
		return &daemonError{kind: failure.Incompletef("docker-daemon %q: no Docker daemon is reachable (is DOCKER_HOST set and the daemon running?): %w", ref, err), missing: true}
	case cerrdefs.IsInvalidArgument(err):
		return failure.Inputf("docker-daemon %q: the daemon refuses the name: %s", ref, failure.OneLine(err.Error()))
	case cerrdefs.IsNotFound(err):
		return &daemonError{kind: failure.Inputf("docker-daemon %q: the daemon has no such image", ref), missing: true}
	}
	return failure.Incompletef("docker-daemon %q: %w", ref, err)
}

// errDaemonMissing matches a daemon error that lets a name lookup go on to the next
// source: no daemon there, or no such image in it.
var errDaemonMissing = errors.New("not in the daemon")

type daemonError struct {
	kind    error
	missing bool
}

func (e *daemonError) Error() string { return e.kind.Error() }

func (e *daemonError) Unwrap() []error {
	if e.missing {
		return []error{e.kind, errDaemonMissing}
	}
	return []error{e.kind}
}
