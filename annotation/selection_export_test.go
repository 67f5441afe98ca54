package annotation

// SetMaxSelectionTasks lowers the selection's size limit for a test and
// returns the function that restores it.
func SetMaxSelectionTasks(n int) (restore func()) {
	old := maxSelectionTasks
	maxSelectionTasks = n
	return func() { maxSelectionTasks = old }
}
