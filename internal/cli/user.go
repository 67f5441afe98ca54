package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"capeval/accounts"
	"capeval/models"
)

var userCommand = &command{
	name:    "user",
	summary: "manage accounts: add, list, disable, enable, set-password",
	usage:   "[flags]",
	help:    "Manage the accounts that log in to the web UI and the API.",
	subs: []*command{
		{
			name:    "add",
			summary: "create an account (the password from standard input)",
			usage:   "--email E --role admin|lead|annotator [--name N] --password-stdin",
			help:    "Create an account. The password is read from the first line of standard input.",
			flags: func(fs *flag.FlagSet, e *env) action {
				email := emailFlag(fs)
				role := fs.String("role", "", "admin, lead or annotator (`ROLE`, required)")
				name := fs.String("name", "", "display `NAME` (default: the part of the email before @)")
				pw := passwordFlag(fs)
				return func(ctx context.Context, args []string) error {
					password, err := checkUserArgs(e, "user add", args, *email, pw)
					if err != nil {
						return err
					}
					acc, store, err := userAccounts(ctx, e)
					if err != nil {
						return err
					}
					defer store.Close()
					u, err := acc.Create(ctx, accounts.NewUser{Email: *email, Name: *name, Role: *role, Password: password})
					if errors.Is(err, accounts.ErrEmailTaken) {
						return fmt.Errorf("an account with email %s exists already", strings.TrimSpace(*email))
					} else if err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "created %s %s (id %d)\n", u.Role, u.Email, u.ID)
					return nil
				}
			},
		},
		{
			name:    "list",
			summary: "list accounts",
			help:    "List every account with its role and state.",
			flags: noArgs("user list", func(ctx context.Context, e *env) error {
				acc, store, err := userAccounts(ctx, e)
				if err != nil {
					return err
				}
				defer store.Close()
				users, err := acc.List(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tSTATE")
				for _, u := range users {
					state := "active"
					if u.Disabled {
						state = "disabled"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, state)
				}
				return tw.Flush()
			}),
		},
		{
			name:    "disable",
			summary: "refuse an account at once, its tokens included",
			usage:   "--email E",
			help:    "Disable an account: it is refused at once, its tokens included.",
			flags:   setDisabled(true),
		},
		{
			name:    "enable",
			summary: "allow a disabled account again",
			usage:   "--email E",
			help:    "Enable a disabled account.",
			flags:   setDisabled(false),
		},
		{
			name:    "set-password",
			summary: "set a password and revoke the account's tokens",
			usage:   "--email E --password-stdin",
			help:    "Set a new password, read from the first line of standard input; the account's existing tokens stop working.",
			flags: func(fs *flag.FlagSet, e *env) action {
				email := emailFlag(fs)
				pw := passwordFlag(fs)
				return func(ctx context.Context, args []string) error {
					password, err := checkUserArgs(e, "user set-password", args, *email, pw)
					if err != nil {
						return err
					}
					return withUser(ctx, e, *email, func(acc *accounts.Service, u *models.User) error {
						// The write's error is returned where it is made: an
						// err shared across branches was once shadowed, and a
						// failed write printed "done".
						if err := acc.SetPassword(ctx, u.ID, password); err != nil {
							return err
						}
						_, err = fmt.Fprintf(e.stdout, "%s: set-password done\n", u.Email)
						return err
					})
				}
			},
		},
	},
}

func emailFlag(fs *flag.FlagSet) *string {
	return fs.String("email", "", "the account's email address (`E`, required)")
}

func passwordFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
}

// setDisabled is the disable or the enable subcommand.
func setDisabled(disabled bool) func(fs *flag.FlagSet, e *env) action {
	sub := "enable"
	if disabled {
		sub = "disable"
	}
	return func(fs *flag.FlagSet, e *env) action {
		email := emailFlag(fs)
		return func(ctx context.Context, args []string) error {
			if _, err := checkUserArgs(e, "user "+sub, args, *email, nil); err != nil {
				return err
			}
			return withUser(ctx, e, *email, func(acc *accounts.Service, u *models.User) error {
				// Actor 0: the operator at the shell is no account.
				if _, err := acc.SetDisabled(ctx, 0, u.ID, disabled); err != nil {
					return err
				}
				_, err := fmt.Fprintf(e.stdout, "%s: %s done\n", u.Email, sub)
				return err
			})
		}
	}
}

// checkUserArgs checks what every user subcommand checks before it opens
// the database, and reads the password when the command takes one
// (passwordStdin not nil).
func checkUserArgs(e *env, cmd string, args []string, email string, passwordStdin *bool) (string, error) {
	if err := wantArgs(args, 0, cmd, ""); err != nil {
		return "", err
	}
	if email == "" {
		return "", usagef("--email is required")
	}
	if passwordStdin == nil {
		return "", nil
	}
	if !*passwordStdin {
		return "", usagef("--password-stdin is required: passwords are never taken from the command line")
	}
	return readPassword(e.stdin)
}

// userAccounts opens the database and returns the accounts service on it;
// the caller closes the store. The service has no token secret: the
// command line manages accounts and signs nobody in.
func userAccounts(ctx context.Context, e *env) (*accounts.Service, *models.Store, error) {
	_, store, log, err := e.setup(ctx)
	if err != nil {
		return nil, nil, err
	}
	acc, err := accounts.New(store, log, accounts.Config{})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return acc, store, nil
}

// withUser opens the database and runs fn with the account of email.
func withUser(ctx context.Context, e *env, email string, fn func(acc *accounts.Service, u *models.User) error) error {
	acc, store, err := userAccounts(ctx, e)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := acc.ByEmail(ctx, email)
	if errors.Is(err, accounts.ErrNotFound) {
		return fmt.Errorf("no account with email %s", email)
	}
	if err != nil {
		return err
	}
	return fn(acc, u)
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
