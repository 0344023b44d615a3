package dockerfile_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/scanner/dockerfile"
)

// BenchmarkLint2000 parses and lints a 2,000-line multi-stage Dockerfile of the kinds of
// instructions real files have (target: under 20 ms).
func BenchmarkLint2000(b *testing.B) {
	var sb strings.Builder
	lines := 0
	for stage := 0; lines < 2000; stage++ {
		fmt.Fprintf(&sb, "FROM debian:12 AS s%d\n", stage)
		sb.WriteString("ARG VERSION=1.2.3\nENV APP_HOME=/app PATH=/app/bin:$PATH\nWORKDIR /app\n")
		sb.WriteString("RUN apt-get update && apt-get install -y curl ca-certificates git \\\n    && curl -fsSL https://example.com/x.tgz | tar -xz -C /opt \\\n    && rm -rf /var/lib/apt/lists/*\n")
		sb.WriteString("COPY --from=s0 /app /app\nCOPY . .\nRUN pip install --no-cache-dir flask==3.0.3 && npm install -g typescript\n")
		sb.WriteString("RUN useradd -u 10001 app && chmod 755 /app\nUSER app\nEXPOSE 8080\nHEALTHCHECK CMD [\"curl\", \"-f\", \"http://localhost:8080/\"]\nCMD [\"/app/bin/server\"]\n\n")
		lines += 16
	}
	src := []byte(sb.String())
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		d, err := dockerfile.Parse("Dockerfile", src)
		if err != nil {
			b.Fatal(err)
		}
		n = len(dockerfile.Lint(d, dockerfile.Options{}))
	}
	b.ReportMetric(float64(n), "findings")
	b.ReportMetric(float64(strings.Count(string(src), "\n")), "lines")
}
