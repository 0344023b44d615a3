// An SSH client of golang.org/x/crypto v0.16.0 (GO-2023-2402, Terrapin, and later ssh
// advisories).
package main

import (
	"fmt"

	"golang.org/x/crypto/ssh"
)

func main() {
	_, err := ssh.Dial("tcp", "127.0.0.1:1", &ssh.ClientConfig{User: "x", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	fmt.Println(err)
}
