package failure_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/imagegate/imagegate/failure"
	"github.com/imagegate/imagegate/report"
)

func TestSettingTravelsThroughWrapping(t *testing.T) {
	base := failure.WithSetting(failure.Inputf("no image for platform linux/s390x"), "platform")
	wrapped := fmt.Errorf("scan: %w", base)
	assert.Equal(t, failure.ExitInput, failure.Code(wrapped), "the kind is kept")
	assert.Equal(t, "platform", failure.SettingOf(wrapped))
	assert.Equal(t, "scan: no image for platform linux/s390x (set --platform)",
		failure.Explain(wrapped, func(s string) string { return "--" + s }))
	assert.Equal(t, "scan: no image for platform linux/s390x (set the platform input)",
		failure.Explain(wrapped, func(s string) string { return "the " + s + " input" }))

	// An unclassified error with a setting is an incomplete scan; one without says none.
	assert.Equal(t, failure.ExitIncomplete, failure.Code(failure.WithSetting(errors.New("x"), "db")))
	plain := failure.Incompletef("disk full")
	assert.Empty(t, failure.SettingOf(plain))
	assert.Equal(t, "disk full", failure.Explain(plain, func(string) string { return "never" }))
	assert.Nil(t, failure.WithSetting(nil, "db"))
}

// A verdict's outcome says the same exit codes as errors do.
func TestOutcomesUseTheExitCodes(t *testing.T) {
	assert.Equal(t, failure.ExitPass, report.Passed.ExitCode())
	assert.Equal(t, failure.ExitFindings, report.FailedOnFindings.ExitCode())
	assert.Equal(t, failure.ExitIncomplete, report.FailedIncomplete.ExitCode())
}
