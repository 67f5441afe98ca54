package server

import (
	"fmt"
	"net/mail"
	"strings"

	"capeval/models"
)

// NewUser validates the fields of a new account and hashes its password. The
// API and `capeval user add` both create users through it.
func NewUser(email, name, role, password string) (*models.User, error) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return nil, badRequest("email", "email %q is not a valid address", email)
	}
	if !models.Role(role).Valid() {
		return nil, badRequest("role", "role %q: want admin, lead or annotator", role)
	}
	if err := checkNewPassword(password); err != nil {
		return nil, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = email[:strings.Index(email, "@")]
	}
	return &models.User{Email: strings.ToLower(email), Name: name, Role: models.Role(role), PasswordHash: hash}, nil
}

func checkNewPassword(password string) error {
	if len(password) < MinPasswordLength {
		return badRequest("password", "password must have at least %d characters", MinPasswordLength)
	}
	if len(password) > 1024 {
		return badRequest("password", "password must have at most 1024 characters")
	}
	return nil
}

// userView is a user as the API shows it: never the hash or token version.
type userView struct {
	ID       int64       `json:"id"`
	Email    string      `json:"email"`
	Name     string      `json:"name"`
	Role     models.Role `json:"role"`
	Disabled bool        `json:"disabled"`
}

func viewUser(u *models.User) userView {
	return userView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled}
}

// ErrorMessage returns the message of an error for the command line, with
// the field it names, for errors made by this package.
func ErrorMessage(err error) string {
	if ae, ok := err.(*apiError); ok && ae.Field != "" {
		return fmt.Sprintf("%s: %s", ae.Field, ae.Message)
	}
	return err.Error()
}
