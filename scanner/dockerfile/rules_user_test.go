package dockerfile_test

import "testing"

// userCases are the good and bad Dockerfiles of rules_user.go.
var userCases = map[string]ruleCase{
	"DF001": {
		bad:  []string{"FROM alpine:3.20\nCMD [\"sh\"]\n", "FROM golang:1.22 AS build\nUSER nobody\nFROM alpine:3.20\nCMD [\"x\"]\n"},
		good: []string{ok, "FROM gcr.io/distroless/static:nonroot\n", "FROM alpine AS base\nUSER 1000\nFROM base\n", "FROM scratch\nCOPY x /x\n"},
	},
	"DF002": {
		bad:  []string{body("USER root"), body("USER 0:0"), "FROM alpine AS b\nUSER root\nFROM b\n"},
		good: []string{ok, "FROM alpine AS b\nUSER root\nFROM alpine\nUSER app\n"},
	},
	"DF052": {
		bad:  []string{body("RUN useradd -u 123456789 app")},
		good: []string{body("RUN useradd -l -u 123456789 app"), body("RUN useradd -u 1000 app")},
	},
}

func TestUserRules(t *testing.T) { checkCases(t, userCases) }
