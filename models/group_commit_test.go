package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"capeval/models"
	"capeval/models/modelstest"
)

// Concurrent InGroupTx calls: each one's writes are kept when it returns
// nil and undone when it fails or panics, whatever the others sharing its
// commit do; every one sees what the earlier ones wrote.
func TestInGroupTxKeepsEachCallAtomic(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		errBoom := errors.New("boom")
		const n = 60
		var wg sync.WaitGroup
		results := make([]error, n)
		panics := make([]any, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { panics[i] = recover() }()
				results[i] = s.InGroupTx(ctx, func(tx *models.Store) error {
					u := &models.User{Email: fmt.Sprintf("u%d@example.com", i), Role: models.RoleAnnotator}
					if err := tx.CreateUser(ctx, u); err != nil {
						return err
					}
					switch i % 10 {
					case 3:
						return errBoom // undone
					case 7:
						panic(fmt.Sprint("panic ", i)) // undone, and re-raised in the caller
					case 9:
						// A duplicate: the constraint's error is this call's
						// only, and its first insert is undone with it.
						return tx.CreateUser(ctx, &models.User{Email: u.Email, Role: models.RoleAnnotator})
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i := range n {
			_, err := s.UserByEmail(ctx, fmt.Sprintf("u%d@example.com", i))
			switch i % 10 {
			case 3:
				if !errors.Is(results[i], errBoom) || !errors.Is(err, models.ErrNotFound) {
					t.Errorf("call %d: %v, user %v; want its error and no user", i, results[i], err)
				}
			case 7:
				if panics[i] != fmt.Sprint("panic ", i) || !errors.Is(err, models.ErrNotFound) {
					t.Errorf("call %d: panic %v, user %v; want its panic and no user", i, panics[i], err)
				}
			case 9:
				if !errors.Is(results[i], models.ErrConflict) || !errors.Is(err, models.ErrNotFound) {
					t.Errorf("call %d: %v, user %v; want a conflict and no user", i, results[i], err)
				}
			default:
				if results[i] != nil || panics[i] != nil || err != nil {
					t.Errorf("call %d: %v %v, user %v; want it kept", i, results[i], panics[i], err)
				}
			}
		}
	})
}
