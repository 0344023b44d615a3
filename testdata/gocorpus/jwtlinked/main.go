// Signs a token with github.com/dgrijalva/jwt-go v3.2.0 and never verifies an audience
// (GO-2020-0017 is in VerifyAudience).
package main

import (
	"fmt"

	"github.com/dgrijalva/jwt-go"
)

func main() {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x"}).SignedString([]byte("k"))
	fmt.Println(s, err)
}
