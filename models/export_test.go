package models

import (
	"database/sql"

	"gorm.io/gorm"
)

// Test-only access for the external tests of this package: the raw pool (to
// inspect pragmas on pooled connections), the gorm handle (to write rows no
// Store method writes yet, and to bypass the Go-side checks so that the
// database's own constraints are exercised) and the error classifier.

func (s *Store) SQLDB() *sql.DB   { return s.sqlDB }
func (s *Store) GormDB() *gorm.DB { return s.db }
func Classify(err error) error    { return classify(err) }
