package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v75/github"

	"github.com/imagegate/imagegate/trust"
)

// MaxComment is GitHub's limit on a comment's body, in characters.
const MaxComment = 65_536

// commentMarker marks the comment imagegate keeps for one job and image, so that a re-run
// edits it in place.
func commentMarker(job, image string) string {
	// Nothing in the names may end the HTML comment early ("-->", "--!>") or break its line.
	return "<!-- imagegate:pr-comment " + strings.NewReplacer("--", "-", ">", "", "\n", " ", "\r", " ").Replace(job+" "+image) + " -->"
}

// commentBody is the comment: the marker, then the summary cut, at a rune boundary, to fit
// GitHub's limit with a pointer to the job summary.
func commentBody(marker, summary string) string {
	body := marker + "\n" + summary
	if len(body) <= MaxComment {
		return body
	}
	const more = "\n\n… cut to fit a comment: the job summary has it all.\n"
	cut := MaxComment - len(more)
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return body[:cut] + more
}

// pullRequest is the pull request a workflow run is for: its repository and number, read
// from the event payload the runner wrote (GITHUB_EVENT_PATH); ok false for other events.
func pullRequest(getenv func(string) string) (owner, repo string, number int, ok bool, err error) {
	switch getenv("GITHUB_EVENT_NAME") {
	case "pull_request", "pull_request_target":
	default:
		return "", "", 0, false, nil
	}
	f, err := os.Open(getenv("GITHUB_EVENT_PATH"))
	if err != nil {
		return "", "", 0, false, fmt.Errorf("the event payload: %w", err)
	}
	defer f.Close()
	var ev struct {
		PullRequest struct {
			Number int `json:"number"`
		} `json:"pull_request"`
	}
	if err := json.NewDecoder(io.LimitReader(f, 64<<20)).Decode(&ev); err != nil || ev.PullRequest.Number <= 0 {
		return "", "", 0, false, fmt.Errorf("the event payload names no pull request (%v)", err)
	}
	owner, repo, found := strings.Cut(getenv("GITHUB_REPOSITORY"), "/")
	if !found || owner == "" || repo == "" {
		return "", "", 0, false, errors.New("GITHUB_REPOSITORY is not owner/name")
	}
	return owner, repo, ev.PullRequest.Number, true, nil
}

// comment keeps one comment on the pull request for this job and image: the summary,
// cut under GitHub's limit with a pointer to the job summary, edited in place on a re-run
// (found by its marker among the comments github-actions[bot] wrote). A token that may
// not comment (a fork's pull request) is an error the caller reports as a warning.
func comment(ctx context.Context, getenv func(string) string, token, image, summary string) error {
	owner, repo, number, ok, err := pullRequest(getenv)
	if err != nil || !ok {
		return err
	}
	if token == "" {
		return errors.New("no token: give the github-token input (the job's token by default)")
	}
	client := gh.NewClient(&http.Client{Timeout: 30 * time.Second}).WithAuthToken(token)
	if api := getenv("GITHUB_API_URL"); api != "" && api != "https://api.github.com" {
		if err := trust.CheckTokenURL("GITHUB_API_URL", api); err != nil {
			return err // the job's token in the clear: not sent
		}
		base, err := url.Parse(strings.TrimSuffix(api, "/") + "/")
		if err != nil {
			return fmt.Errorf("GITHUB_API_URL %q: %w", api, err)
		}
		client.BaseURL = base
	}
	marker := commentMarker(getenv("GITHUB_JOB"), image)
	body := commentBody(marker, summary)
	existing, err := ours(ctx, client, owner, repo, number, marker)
	if err != nil {
		return explain(err)
	}
	if existing != nil {
		_, _, err = client.Issues.EditComment(ctx, owner, repo, existing.GetID(), &gh.IssueComment{Body: &body})
	} else {
		_, _, err = client.Issues.CreateComment(ctx, owner, repo, number, &gh.IssueComment{Body: &body})
	}
	return explain(err)
}

// ours finds the comment github-actions[bot] wrote with marker (at most 10 pages).
func ours(ctx context.Context, client *gh.Client, owner, repo string, number int, marker string) (*gh.IssueComment, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for page := 0; page < 10; page++ {
		cs, resp, err := client.Issues.ListComments(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if c.GetUser().GetLogin() == "github-actions[bot]" && strings.HasPrefix(c.GetBody(), marker) {
				return c, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
	return nil, nil
}

// explain says what a refused request means for a CI job.
func explain(err error) error {
	var ge *gh.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && (ge.Response.StatusCode == http.StatusForbidden || ge.Response.StatusCode == http.StatusNotFound) {
		return fmt.Errorf("the token may not comment (HTTP %d; a pull request from a fork gets a read-only token): %s", ge.Response.StatusCode, ge.Message)
	}
	return err
}
