package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"capeval/models"
	"capeval/server"
)

// stdin is where --password-stdin reads; tests replace it.
var stdin io.Reader = os.Stdin

const userSynopsis = "user add|list|disable|enable|set-password [flags]"

func userCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stdout, "Usage: capeval %s\n\n"+
			"  add           create an account: --email E --role admin|lead|annotator [--name N] --password-stdin\n"+
			"  list          list accounts\n"+
			"  disable       refuse an account at once (its tokens stop working): --email E\n"+
			"  enable        allow a disabled account again: --email E\n"+
			"  set-password  set a new password, revoking the account's tokens: --email E --password-stdin\n\n"+
			"`capeval user SUBCOMMAND -h` explains its flags.\n", userSynopsis)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	synopses := map[string][2]string{
		"add": {"user add --email E --role ROLE [--name N] --password-stdin",
			"Create an account. The password is read from the first line of standard input."},
		"set-password": {"user set-password --email E --password-stdin",
			"Set a new password, read from the first line of standard input; the account's existing tokens stop working."},
		"disable": {"user disable --email E", "Disable an account: it is refused at once, its tokens included."},
		"enable":  {"user enable --email E", "Enable a disabled account."},
		"list":    {"user list", "List every account with its role and state."},
	}
	syn, ok := synopses[sub]
	if !ok {
		return fmt.Errorf("unknown subcommand %q: want add, list, disable, enable or set-password", sub)
	}
	fs := newFlagSet("user "+sub, syn[0], syn[1], stderr)
	var email, role, name *string
	var passwordStdin *bool
	if sub != "list" {
		email = fs.String("email", "", "the account's email address (required)")
	}
	if sub == "add" {
		role = fs.String("role", "", "admin, lead or annotator (required)")
		name = fs.String("name", "", "display name (default: the part of the email before @)")
	}
	if sub == "add" || sub == "set-password" {
		passwordStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if email != nil && *email == "" {
		return errors.New("--email is required")
	}
	var password string
	if passwordStdin != nil {
		if !*passwordStdin {
			return errors.New("--password-stdin is required: passwords are never taken from the command line")
		}
		var err error
		if password, err = readPassword(stdin); err != nil {
			return err
		}
	}
	_, store, _, err := setup(ctx, stderr)
	if err != nil {
		return err
	}
	defer store.Close()

	switch sub {
	case "add":
		u, err := server.NewUser(*email, *name, *role, password)
		if err != nil {
			return errors.New(server.ErrorMessage(err))
		}
		if err := store.CreateUser(ctx, u); err != nil {
			if errors.Is(err, models.ErrConflict) {
				return fmt.Errorf("an account with email %s exists already", u.Email)
			}
			return err
		}
		fmt.Fprintf(stdout, "created %s %s (id %d)\n", u.Role, u.Email, u.ID)
	case "list":
		users, err := store.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tSTATE")
		for _, u := range users {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, state)
		}
		return tw.Flush()
	case "disable", "enable", "set-password":
		u, err := store.UserByEmail(ctx, *email)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("no account with email %s", *email)
		} else if err != nil {
			return err
		}
		// The write's error is checked in each branch: one err shared
		// across the branches was once shadowed, and a failed write
		// printed "done".
		switch sub {
		case "set-password":
			if len(password) < server.MinPasswordLength {
				return fmt.Errorf("password must have at least %d characters", server.MinPasswordLength)
			}
			hash, err := server.HashPassword(password)
			if err != nil {
				return err
			}
			if err := store.SetUserPassword(ctx, u.ID, hash); err != nil {
				return err
			}
		default:
			if err := store.SetUserDisabled(ctx, u.ID, sub == "disable"); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "%s: %s done\n", u.Email, sub)
	}
	return nil
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
