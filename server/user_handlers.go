package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"capeval/models"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type tokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userView  `json:"user"`
}

func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if email == "" {
		return badRequest("email", "email is required")
	}
	if req.Password == "" {
		return badRequest("password", "password is required")
	}
	keys := []string{"ip:" + c.RealIP(), "email:" + email}
	for _, k := range keys {
		if wait := s.logins.retryAfter(k); wait > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
				Message: "too many failed logins: try again in " + wait.Round(time.Second).String()}
		}
	}
	ctx := c.Request().Context()
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, models.ErrNotFound) {
		CheckPassword(dummyHash, req.Password) // same work as a real check
	} else if err != nil {
		return err
	}
	if u == nil || !CheckPassword(u.PasswordHash, req.Password) {
		for _, k := range keys {
			s.logins.fail(k)
		}
		s.log.Warn("login failed", "email", email, "remote", c.RealIP())
		return &apiError{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "wrong email or password"}
	}
	if u.Disabled {
		return &apiError{Status: http.StatusForbidden, Code: "account_disabled", Message: "this account is disabled: ask an admin"}
	}
	for _, k := range keys {
		s.logins.succeed(k)
	}
	s.log.Info("login", "user_id", u.ID, "role", u.Role)
	return s.respondWithToken(c, http.StatusOK, u)
}

func (s *Server) respondWithToken(c echo.Context, status int, u *models.User) error {
	token, exp, err := s.tokens.issue(u.ID, u.Role, u.TokenVersion)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: cookieToken, Value: token, Path: "/", Expires: exp,
		HttpOnly: true, Secure: s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode,
	})
	return c.JSON(status, tokenResponse{Token: token, ExpiresAt: exp.UTC(), User: viewUser(u)})
}

func (s *Server) clearCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: cookieToken, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode})
}

// logout revokes every token of the user issued so far (the stored token
// version moves on) and clears the cookie.
func (s *Server) logout(c echo.Context) error {
	u := currentUser(c)
	if _, err := s.store.BumpTokenVersion(c.Request().Context(), u.ID); err != nil {
		return err
	}
	s.clearCookie(c)
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
	u := currentUser(c)
	if !CheckPassword(u.PasswordHash, req.CurrentPassword) {
		return &apiError{Status: http.StatusForbidden, Code: "wrong_password", Message: "the current password is wrong", Field: "current_password"}
	}
	if err := checkNewPassword(req.NewPassword); err != nil {
		err.(*apiError).Field = "new_password"
		return err
	}
	hash, err := HashPassword(req.NewPassword)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.store.SetUserPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	fresh, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	return s.respondWithToken(c, http.StatusOK, fresh)
}

func (s *Server) listUsers(c echo.Context) error {
	users, err := s.store.ListUsers(c.Request().Context())
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
	u, err := NewUser(req.Email, req.Name, req.Role, req.Password)
	if err != nil {
		return err
	}
	if err := s.store.CreateUser(c.Request().Context(), u); err != nil {
		if errors.Is(err, models.ErrConflict) {
			return &apiError{Status: http.StatusConflict, Code: "conflict", Message: "a user with this email exists", Field: "email"}
		}
		return err
	}
	s.log.Info("user created", "user_id", u.ID, "role", u.Role, "by", currentUser(c).ID)
	return c.JSON(http.StatusCreated, viewUser(u))
}

type updateUserRequest struct {
	Disabled *bool `json:"disabled"`
}

func (s *Server) updateUser(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return badRequest("id", "user id %q is not a positive integer", c.Param("id"))
	}
	var req updateUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Disabled == nil {
		return badRequest("disabled", "nothing to change: send {\"disabled\": true|false}")
	}
	if *req.Disabled && id == currentUser(c).ID {
		return badRequest("disabled", "you cannot disable your own account")
	}
	ctx := c.Request().Context()
	if err := s.store.SetUserDisabled(ctx, id, *req.Disabled); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	s.log.Info("user updated", "user_id", id, "disabled", *req.Disabled, "by", currentUser(c).ID)
	return c.JSON(http.StatusOK, viewUser(u))
}
