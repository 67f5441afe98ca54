package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAgreementCommand prints the opened demo's agreement as JSON (the
// API's shape) and as a table; bad flags exit 2, a missing campaign 1.
func TestAgreementCommand(t *testing.T) {
	setEnv(t)
	srv := startServe(t)
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, srv.errOut.String())
	}
	code, out, errOut := cli(t, "", "agreement", "--campaign", "1", "--format", "json", "--resamples", "100")
	if code != 0 {
		t.Fatalf("agreement --format json: exit %d: %s", code, errOut)
	}
	var a struct {
		Criteria []struct {
			Criterion   string
			Alpha       struct{ Nominal, Ordinal, Interval *float64 }
			AlphaCI     struct{ Level float64 } `json:"alpha_ci"`
			FleissKappa *float64                `json:"fleiss_kappa"`
			Items       int
			Annotators  int
		}
		Annotators []struct {
			Annotator string
			Ratings   int
		}
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("%v\n%.300s", err, out)
	}
	if len(a.Criteria) == 0 || a.Criteria[0].Alpha.Ordinal == nil || a.Criteria[0].AlphaCI.Level != 0.95 || a.Criteria[0].Items == 0 || len(a.Annotators) < 2 {
		t.Errorf("agreement of the demo: %+v", a)
	}
	code, table, errOut := cli(t, "", "agreement", "--campaign", "1", "--resamples", "100")
	if code != 0 || !strings.Contains(table, "ALPHA ORDINAL") || !strings.Contains(table, a.Annotators[0].Annotator) {
		t.Errorf("table: exit %d %s\n%s", code, errOut, table)
	}
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"agreement"}, 2, "--campaign is required"},
		{[]string{"agreement", "--campaign", "1", "--format", "xml"}, 2, "want json or table"},
		{[]string{"agreement", "--campaign", "no-such-campaign"}, 1, "no-such-campaign"},
	} {
		code, _, errOut := cli(t, "", tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.msg) {
			t.Errorf("%q: exit %d %q, want %d with %q", tt.args, code, errOut, tt.code, tt.msg)
		}
	}
}
