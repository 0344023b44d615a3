package dockerfile_test

import "testing"

// baseCases are the good and bad Dockerfiles of rules_base.go.
var baseCases = map[string]ruleCase{
	"DF003": {
		bad:  []string{"FROM alpine:3.20\n", "FROM golang:1.22 AS build\nFROM " + "alpine@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5\n"},
		good: []string{ok, "FROM scratch\n", "FROM alpine@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5 AS a\nFROM a\n"},
	},
	"DF004": {
		bad:  []string{"FROM alpine:latest\n", "ARG TAG=latest\nFROM alpine:${TAG}\n"},
		good: []string{ok, "FROM alpine:3.20\n", "FROM alpine:latest@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5\n"},
	},
	"DF005": {
		bad:  []string{"FROM alpine\n", "FROM registry.example.com:5000/team/app\n"},
		good: []string{ok, "FROM alpine:3.20\n", "FROM alpine:3 AS build\nFROM build\n"},
	},
}

func TestBaseRules(t *testing.T) { checkCases(t, baseCases) }
