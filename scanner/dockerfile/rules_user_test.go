package dockerfile_test

import (
	"strings"
	"testing"
)

// userCases are the good and bad Dockerfiles of rules_user.go.
var userCases = map[string]ruleCase{
	"DF001": {
		bad:  []string{"FROM alpine:3.20\nCMD [\"sh\"]\n", "FROM golang:1.22 AS build\nUSER nobody\nFROM alpine:3.20\nCMD [\"x\"]\n"},
		good: []string{ok, "FROM gcr.io/distroless/static:nonroot\n", "FROM alpine AS base\nUSER 1000\nFROM base\n", "FROM scratch\nCOPY x /x\n"},
	},
	"DF002": {
		bad:  []string{body("USER root"), body("USER 0:0"), "FROM alpine AS b\nUSER root\nFROM b\n"},
		good: []string{ok, "FROM alpine AS b\nUSER root\nFROM alpine\nUSER 10001\n"},
	},
	"DF052": {
		bad:  []string{body("RUN useradd -u 123456789 app")},
		good: []string{body("RUN useradd -l -u 123456789 app"), body("RUN useradd -u 1000 app")},
	},
	"DF061": {
		bad:  []string{strings.Replace(ok, "USER 10001", "USER app", 1), strings.Replace(ok, "USER 10001", "USER app:app", 1)},
		good: []string{ok, strings.Replace(ok, "USER 10001", "USER 10001:10001", 1), strings.Replace(ok, "USER 10001", "USER ${APP_UID}", 1)},
	},
}

func TestUserRules(t *testing.T) { checkCases(t, userCases) }
