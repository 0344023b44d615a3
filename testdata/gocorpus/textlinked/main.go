// Links golang.org/x/text/language v0.3.7 without calling its parsers.
package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() {
	fmt.Println(language.English.IsRoot())
}
