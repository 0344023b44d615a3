// Calls a vulnerable function of golang.org/x/text v0.3.7 (GO-2022-1059: ParseAcceptLanguage).
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tags, _, err := language.ParseAcceptLanguage(os.Getenv("LANG_HEADER"))
	fmt.Println(tags, err)
}
