package annotation

import "context"

// SetMaxSelectionTasks lowers the selection's size limit for a test and
// returns the function that restores it.
func SetMaxSelectionTasks(n int) (restore func()) {
	old := maxSelectionTasks
	maxSelectionTasks = n
	return func() { maxSelectionTasks = old }
}

// SetBeforeDelete makes Commit call fn between its plan and the delete of
// the untouched tasks.
func (s *Selection) SetBeforeDelete(fn func(ctx context.Context)) { s.beforeDelete = fn }
