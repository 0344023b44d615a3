// Package jsonstream reads large JSON documents a value at a time (an SBOM's components,
// a VEX document's statements), so that memory follows the largest value, not the file.
package jsonstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Object reads one JSON object from dec, handing each key's value to field, which
// must consume it; anything after the object is an error.
func Object(dec *json.Decoder, field func(dec *json.Decoder, key string) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if err := field(dec, key); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the document")
	}
	return nil
}

// Array reads a JSON array (or null) from dec, element by element.
func Array(dec *json.Decoder, elem func(dec *json.Decoder) error) error {
	t, err := dec.Token()
	if err != nil || t == nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array, got %v", t)
	}
	for dec.More() {
		if err := elem(dec); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, t)
	}
	return nil
}
