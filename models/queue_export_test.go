package models

import (
	"context"
	"strings"
)

// PickPlan returns SQLite's query plan of PickOpenTask's statement for q,
// one detail line per step joined by "; ".
func (s *Store) PickPlan(ctx context.Context, q PickQuery) (string, error) {
	query, args := s.pickSQL(q)
	var plan []struct {
		ID, Parent, Notused int
		Detail              string
	}
	if err := s.conn(ctx).Raw("EXPLAIN QUERY PLAN "+query, args...).Scan(&plan).Error; err != nil {
		return "", err
	}
	details := make([]string, len(plan))
	for i, p := range plan {
		details[i] = p.Detail
	}
	return strings.Join(details, "; "), nil
}
