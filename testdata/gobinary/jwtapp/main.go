// jwtapp is a tiny program that links github.com/dgrijalva/jwt-go v3.2.0, a module with a
// known vulnerability (GO-2020-0017). Tests build it offline from the vendor folder.
package main

import (
	"fmt"

	jwt "github.com/dgrijalva/jwt-go"
)

func main() {
	claims := jwt.MapClaims{"aud": "imagegate"}
	fmt.Println(claims.VerifyAudience("imagegate", true))
}
