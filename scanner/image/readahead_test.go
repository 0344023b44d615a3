package image

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What readAhead reads is the stream, byte for byte, whatever the reads' sizes, over
// many pieces.
func TestReadAheadIsTheStream(t *testing.T) {
	want := make([]byte, 3*aheadPieces*aheadPiece+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	a := newReadAhead(iotest.HalfReader(bytes.NewReader(want)))
	got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(a, 1000)))
	require.NoError(t, err)
	rest, err := io.ReadAll(a)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, append(got, rest...)))
	_, err = a.Read(make([]byte, 1))
	assert.Equal(t, io.EOF, err, "the end is said again")
}

// The stream's error comes after all it read, as it was: a truncated gzip stream's
// io.ErrUnexpectedEOF is not the end of a stream.
func TestReadAheadKeepsTheStreamsError(t *testing.T) {
	for _, want := range []error{io.ErrUnexpectedEOF, errors.New("corrupt")} {
		data := bytes.Repeat([]byte("x"), aheadPiece+10)
		a := newReadAhead(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(want)))
		got, err := io.ReadAll(a)
		assert.Equal(t, data, got)
		assert.Equal(t, want, err)
	}
}

// Closing a stream read ahead stops its goroutine, even one waiting on a slow source
// (the blob's Close ends that read), and before the decompressor is released.
func TestReadAheadStops(t *testing.T) {
	blocked := make(chan struct{})
	src := &blockingReader{unblock: blocked}
	released := false
	s := &layerStream{ahead: newReadAhead(src), rc: closerFunc(func() error { close(blocked); return nil }), closeFn: func() {
		select {
		case <-blocked:
		default:
			t.Error("the decompressor was released before the blob was closed")
		}
		released = true
	}}
	s.Reader = s.ahead
	time.Sleep(10 * time.Millisecond) // the goroutine is in its read
	require.NoError(t, s.Close())
	assert.True(t, released)
	_, err := s.Read(make([]byte, 1))
	assert.Error(t, err)
	select {
	case <-s.ahead.done:
	default:
		t.Error("Close returned before the goroutine did")
	}
}

type blockingReader struct{ unblock chan struct{} }

func (b *blockingReader) Read(p []byte) (int, error) {
	<-b.unblock
	return 0, errors.New("closed")
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
