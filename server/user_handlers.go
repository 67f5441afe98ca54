package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"capeval/accounts"
	"capeval/models"
)

// AccountService is what the handlers and the authentication middleware
// need from the accounts service.
type AccountService interface {
	Login(ctx context.Context, email, password, clientIP string) (*accounts.Session, error)
	Authenticate(ctx context.Context, token string) (*models.User, error)
	Logout(ctx context.Context, userID int64) error
	ChangePassword(ctx context.Context, u *models.User, current, next, clientIP string) (*accounts.Session, error)
	List(ctx context.Context) ([]models.User, error)
	Create(ctx context.Context, in accounts.NewUser) (*models.User, error)
	SetDisabled(ctx context.Context, actorID, id int64, disabled bool) (*models.User, error)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.accounts.Login(c.Request().Context(), req.Email, req.Password, c.RealIP())
	if err != nil {
		return err
	}
	return s.respondWithSession(c, http.StatusOK, sess)
}

// logout revokes every token of the user issued so far (the stored token
// version moves on) and clears the cookie.
func (s *Server) logout(c echo.Context) error {
	if err := s.accounts.Logout(c.Request().Context(), currentUser(c).ID); err != nil {
		return err
	}
	s.clearSession(c)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) getMe(c echo.Context) error {
	return c.JSON(http.StatusOK, viewUser(currentUser(c)))
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword revokes older tokens and answers with a fresh one, so the
// session that changed the password stays logged in.
func (s *Server) changePassword(c echo.Context) error {
	var req changePasswordRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.accounts.ChangePassword(c.Request().Context(), currentUser(c), req.CurrentPassword, req.NewPassword, c.RealIP())
	if err != nil {
		return err
	}
	return s.respondWithSession(c, http.StatusOK, sess)
}

func (s *Server) listUsers(c echo.Context) error {
	users, err := s.accounts.List(c.Request().Context())
	if err != nil {
		return err
	}
	views := make([]userView, len(users))
	for i := range users {
		views[i] = viewUser(&users[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"users": views})
}

type createUserRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

func (s *Server) createUser(c echo.Context) error {
	var req createUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	u, err := s.accounts.Create(c.Request().Context(), accounts.NewUser{Email: req.Email, Name: req.Name, Role: req.Role, Password: req.Password})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, viewUser(u))
}

type updateUserRequest struct {
	Disabled *bool `json:"disabled"`
}

func (s *Server) updateUser(c echo.Context) error {
	id, err := pathID(c, "id", "user")
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Disabled == nil {
		return badRequest("disabled", "nothing to change: send {\"disabled\": true|false}")
	}
	u, err := s.accounts.SetDisabled(c.Request().Context(), currentUser(c).ID, id, *req.Disabled)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewUser(u))
}
