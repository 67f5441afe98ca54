package annotation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"capeval/annotation"
	"capeval/models"
	"capeval/models/modelstest"
)

// TestAnnotatorsDoNotRevealAccounts: a campaign's annotators resolve to
// enabled annotator accounts only, and every other reference (an admin, a
// lead, a disabled annotator, an account that does not exist) gets the same
// message, so that a lead cannot learn which accounts exist.
func TestAnnotatorsDoNotRevealAccounts(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		users := map[string]*models.User{}
		for _, a := range []struct {
			email    string
			role     models.Role
			disabled bool
		}{
			{"admin@example.com", models.RoleAdmin, false},
			{"lead@example.com", models.RoleLead, false},
			{"ann@example.com", models.RoleAnnotator, false},
			{"Other.Ann@example.com", models.RoleAnnotator, false},
			{"gone@example.com", models.RoleAnnotator, true},
		} {
			u := &models.User{Email: a.email, Name: a.email, Role: a.role}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			if a.disabled {
				if err := s.SetUserDisabled(ctx, u.ID, true); err != nil {
					t.Fatal(err)
				}
			}
			users[a.email] = u
		}
		svc := annotation.NewCampaigns(s, modelstest.Logger(t))
		lead := users["lead@example.com"]

		refused := []string{
			"admin@example.com", "lead@example.com", "gone@example.com", "nobody@example.com",
			fmt.Sprint(users["admin@example.com"].ID), fmt.Sprint(users["lead@example.com"].ID),
			fmt.Sprint(users["gone@example.com"].ID), "99999",
		}
		for i, ref := range refused {
			t.Run(ref, func(t *testing.T) {
				_, err := svc.Create(ctx, lead.ID, annotation.NewCampaign{Name: fmt.Sprint("refused ", i), Annotators: []string{ref}})
				var ve *annotation.ValidationError
				if !errors.As(err, &ve) || len(ve.Problems) != 1 {
					t.Fatalf("Create with annotator %q = %v, want one problem", ref, err)
				}
				p := ve.Problems[0]
				want := fmt.Sprintf("no enabled annotator account with id or email %q", ref)
				if p.Where != "annotators[0]" || p.Message != want {
					t.Fatalf("problem %+v, want annotators[0]: %s (the same for every refused reference)", p, want)
				}
			})
		}

		// Enabled annotators resolve by id and by email in any case.
		c, err := svc.Create(ctx, lead.ID, annotation.NewCampaign{Name: "ok",
			Annotators: []string{" ANN@example.com", fmt.Sprint(users["Other.Ann@example.com"].ID), "other.ann@EXAMPLE.com"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range c.Annotators {
			got = append(got, a.Email)
		}
		if strings.Join(got, ",") != "ann@example.com,Other.Ann@example.com" {
			t.Fatalf("annotators %v, want ann@example.com and Other.Ann@example.com once each", got)
		}
	})
}
