package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"

	"github.com/imagegate/imagegate/ci/inputs"
	"github.com/imagegate/imagegate/report"
)

// summaryMarker identifies imagegate's summary thread on a pull request, so that a re-run
// updates it instead of adding another.
const summaryMarker = "<!-- imagegate:summary -->"

// findingMarker identifies the thread of one finding (by fingerprint) on a Dockerfile line.
func findingMarker(fp string) string { return "<!-- imagegate:finding " + fp + " -->" }

// MaxLineThreads bounds the threads imagegate keeps on Dockerfile lines of a pull request
// (across runs): the summary lists the rest.
const MaxLineThreads = 10

// commentOnPullRequest creates or updates the summary thread, and opens threads on the
// Dockerfile lines of high and critical findings that have none yet. It authenticates with
// the job's token (System.AccessToken, passed by the shim as IMAGEGATE_ACCESS_TOKEN).
func commentOnPullRequest(ctx context.Context, getenv func(string) string, summary string, fs []report.Finding) error {
	org := getenv("SYSTEM_COLLECTIONURI")
	project := getenv("SYSTEM_TEAMPROJECTID")
	if project == "" {
		project = getenv("SYSTEM_TEAMPROJECT")
	}
	repo := getenv("BUILD_REPOSITORY_ID")
	pr, err := strconv.Atoi(getenv("SYSTEM_PULLREQUEST_PULLREQUESTID"))
	token := getenv("IMAGEGATE_ACCESS_TOKEN")
	switch {
	case err != nil:
		return fmt.Errorf("pull request id %q is not a number", getenv("SYSTEM_PULLREQUEST_PULLREQUESTID"))
	case org == "" || repo == "" || project == "":
		return errors.New("SYSTEM_COLLECTIONURI, SYSTEM_TEAMPROJECT and BUILD_REPOSITORY_ID are needed to comment")
	case token == "":
		return errors.New("no job token: allow scripts to access the OAuth token (System.AccessToken)")
	}
	conn := azuredevops.NewAnonymousConnection(org)
	conn.AuthorizationString = "Bearer " + token
	client, err := git.NewClient(ctx, conn)
	if err != nil {
		return explain(err)
	}
	threads, err := client.GetThreads(ctx, git.GetThreadsArgs{RepositoryId: &repo, PullRequestId: &pr, Project: &project})
	if err != nil {
		return explain(err)
	}
	summaryThread, existing := ours(threads)
	body := summaryMarker + "\n" + summary
	if summaryThread != nil {
		c := (*summaryThread.Comments)[0]
		_, err = client.UpdateComment(ctx, git.UpdateCommentArgs{
			Comment: &git.Comment{Content: &body}, RepositoryId: &repo, PullRequestId: &pr,
			ThreadId: summaryThread.Id, CommentId: c.Id, Project: &project,
		})
	} else {
		_, err = client.CreateThread(ctx, git.CreateThreadArgs{
			CommentThread: thread(body, nil), RepositoryId: &repo, PullRequestId: &pr, Project: &project,
		})
	}
	if err != nil {
		return explain(err)
	}
	opened := len(existing)
	for _, f := range fs {
		if opened == MaxLineThreads {
			break
		}
		if f.Suppressed != nil || f.Severity < report.High || f.Location == nil || existing[f.Fingerprint] {
			continue
		}
		text := fmt.Sprintf("%s\n**%s %s**: %s", findingMarker(f.Fingerprint), f.Severity, f.ID, issueMessage(f))
		path := "/" + strings.TrimPrefix(inputs.RelativeTo(f.Location.Path, getenv("BUILD_SOURCESDIRECTORY")), "/")
		ctxt := &git.CommentThreadContext{
			FilePath:       &path,
			RightFileStart: &git.CommentPosition{Line: &f.Location.StartLine, Offset: intp(1)},
			RightFileEnd:   &git.CommentPosition{Line: &f.Location.EndLine, Offset: intp(1)},
		}
		if _, err := client.CreateThread(ctx, git.CreateThreadArgs{CommentThread: thread(text, ctxt), RepositoryId: &repo, PullRequestId: &pr, Project: &project}); err != nil {
			return explain(err)
		}
		existing[f.Fingerprint] = true
		opened++
	}
	return nil
}

// ours finds imagegate's threads among a pull request's: the summary's, and the
// fingerprints of the findings that have one already.
func ours(threads *[]git.GitPullRequestCommentThread) (*git.GitPullRequestCommentThread, map[string]bool) {
	existing := map[string]bool{}
	var summary *git.GitPullRequestCommentThread
	if threads == nil {
		return nil, existing
	}
	for i := range *threads {
		t := &(*threads)[i]
		if t.Comments == nil || len(*t.Comments) == 0 || (*t.Comments)[0].Content == nil {
			continue
		}
		content := *(*t.Comments)[0].Content
		if strings.Contains(content, summaryMarker) {
			summary = t
		}
		if i := strings.Index(content, "<!-- imagegate:finding "); i >= 0 {
			if f := strings.Fields(content[i+len("<!-- imagegate:finding "):]); len(f) > 0 {
				existing[f[0]] = true
			}
		}
	}
	return summary, existing
}

func intp(i int) *int { return &i }

func thread(content string, c *git.CommentThreadContext) *git.GitPullRequestCommentThread {
	status := git.CommentThreadStatusValues.Active
	typ := git.CommentTypeValues.Text
	parent := 0
	return &git.GitPullRequestCommentThread{
		Comments:      &[]git.Comment{{Content: &content, CommentType: &typ, ParentCommentId: &parent}},
		Status:        &status,
		ThreadContext: c,
	}
}

// explain turns a permission refusal into advice.
func explain(err error) error {
	var we azuredevops.WrappedError
	if errors.As(err, &we) && we.StatusCode != nil && (*we.StatusCode == http.StatusForbidden || *we.StatusCode == http.StatusUnauthorized) {
		return fmt.Errorf("the job token may not comment (HTTP %d): grant the build service 'Contribute to pull requests' on the repository", *we.StatusCode)
	}
	var wep *azuredevops.WrappedError
	if errors.As(err, &wep) && wep.StatusCode != nil && (*wep.StatusCode == http.StatusForbidden || *wep.StatusCode == http.StatusUnauthorized) {
		return fmt.Errorf("the job token may not comment (HTTP %d): grant the build service 'Contribute to pull requests' on the repository", *wep.StatusCode)
	}
	return err
}
