package dockerfile_test

import "testing"

// rpmCases are the good and bad Dockerfiles of rules_rpm.go.
var rpmCases = map[string]ruleCase{
	"DF024": {
		bad:  []string{body("RUN yum install httpd-2.4.57 && yum clean all")},
		good: []string{body("RUN yum install -y httpd-2.4.57 && yum clean all")},
	},
	"DF025": {
		bad:  []string{body("RUN yum install -y httpd && yum clean all")},
		good: []string{body("RUN yum install -y httpd-2.4.57 && yum clean all")},
	},
	"DF026": {
		bad:  []string{body("RUN yum install -y httpd-2.4.57")},
		good: []string{body("RUN yum install -y httpd-2.4.57 && yum clean all")},
	},
	"DF027": {
		bad:  []string{body("RUN dnf install httpd-2.4.57 && dnf clean all")},
		good: []string{body("RUN dnf install -y httpd-2.4.57 && dnf clean all"), body("RUN microdnf install -y httpd-2.4.57 && microdnf clean all")},
	},
	"DF028": {
		bad:  []string{body("RUN dnf install -y httpd && dnf clean all")},
		good: []string{body("RUN dnf install -y httpd-2.4.57 && dnf clean all")},
	},
	"DF029": {
		bad:  []string{body("RUN dnf install -y httpd-2.4.57")},
		good: []string{body("RUN dnf install -y httpd-2.4.57 && dnf clean all")},
	},
	"DF030": {
		bad:  []string{body("RUN zypper install curl=8.0.1 && zypper clean")},
		good: []string{body("RUN zypper --non-interactive install curl=8.0.1 && zypper clean"), body("RUN zypper install -y curl=8.0.1 && zypper clean")},
	},
	"DF031": {
		bad:  []string{body("RUN zypper -n install curl && zypper clean")},
		good: []string{body("RUN zypper -n install curl=8.0.1 && zypper clean")},
	},
	"DF032": {
		bad:  []string{body("RUN zypper -n install curl=8.0.1")},
		good: []string{body("RUN zypper -n install curl=8.0.1 && zypper clean")},
	},
	"DF033": {
		bad:  []string{body("RUN zypper -n dist-upgrade")},
		good: []string{body("RUN zypper -n refresh")},
	},
}

func TestRpmRules(t *testing.T) { checkCases(t, rpmCases) }
