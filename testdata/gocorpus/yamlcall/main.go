// Calls gopkg.in/yaml.v2 v2.2.2's Unmarshal (GO-2020-0036, GO-2021-0061, GO-2022-0956).
package main

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v2"
)

func main() {
	var v map[string]any
	fmt.Println(yaml.Unmarshal([]byte(os.Getenv("DOC")), &v), v)
}
