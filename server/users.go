package server

import "capeval/models"

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
