package cli

import (
	"os"
	"strings"
	"testing"

	"capeval/accounts"
	"capeval/annotation/demo"
)

// TestServeRefusesPublishedPasswords: a server on an address others can
// reach does not start while a demo account still has its published
// password, and starts once every one was changed or disabled; the demo
// itself is refused there by the configuration.
func TestServeRefusesPublishedPasswords(t *testing.T) {
	dir := setEnv(t)
	loadDemoFor(t, dir)
	t.Setenv("CAPEVAL_ADDR", "0.0.0.0:0")

	t.Setenv("CAPEVAL_DEMO", "true")
	if code, _, errOut := cli(t, "", "serve"); code != 1 || !strings.Contains(errOut, "CAPEVAL_DEMO=true with CAPEVAL_ADDR=\"0.0.0.0:0\"") {
		t.Fatalf("demo off loopback: exit %d, stderr %q", code, errOut)
	}
	t.Setenv("CAPEVAL_DEMO", "false")
	code, _, errOut := cli(t, "", "serve")
	if code != 1 || !strings.Contains(errOut, "not a loopback address") {
		t.Fatalf("serve off loopback with the demo's passwords: exit %d, stderr %q", code, errOut)
	}
	for _, a := range demo.Accounts {
		if !strings.Contains(errOut, a.Email) {
			t.Errorf("the refusal does not name %s: %s", a.Email, errOut)
		}
	}
	// Change three passwords and disable the fourth account: nothing
	// published is left.
	for i, a := range demo.Accounts {
		args := []string{"user", "set-password", "--email", a.Email, "--password-stdin"}
		if i == 3 {
			args = []string{"user", "disable", "--email", a.Email}
		}
		if code, out, errOut := cli(t, "a private password\n", args...); code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errOut)
		}
	}
	cfg, store, log, err := (&env{stderr: &strings.Builder{}, getenv: os.Getenv}).setup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acc, err := accounts.New(store, log, accounts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := refuseDemoPasswords(t.Context(), cfg, acc); err != nil {
		t.Fatalf("after changing every demo password: %v", err)
	}
}
