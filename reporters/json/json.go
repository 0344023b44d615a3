// Package json writes a scan result as imagegate's versioned JSON document. The format is
// described in docs/json-format.md and by the JSON Schema in schema.json; SchemaVersion
// changes its major number on any incompatible change.
package json

import (
	_ "embed"
	stdjson "encoding/json"
	"io"

	"github.com/imagegate/imagegate/report"
)

// SchemaVersion is the version of the document format.
const SchemaVersion = "1.0"

// Schema is the JSON Schema (draft 2020-12) of the document.
//
//go:embed schema.json
var Schema []byte

// Document is the top-level JSON object.
type Document struct {
	SchemaVersion string `json:"schemaVersion"`
	Tool          Tool   `json:"tool"`
	*report.Result
}

// Tool names the program that wrote the document.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Write encodes r as an indented JSON document.
func Write(w io.Writer, r *report.Result) error {
	enc := stdjson.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(Document{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "imagegate", Version: report.Version},
		Result:        r,
	})
}
