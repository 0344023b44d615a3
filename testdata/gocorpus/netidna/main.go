// Uses only golang.org/x/net/idna of golang.org/x/net v0.17.0: the module's vulnerable
// packages (http2, html, proxy) are not linked.
package main

import (
	"fmt"

	"golang.org/x/net/idna"
)

func main() {
	fmt.Println(idna.ToASCII("bücher.example"))
}
