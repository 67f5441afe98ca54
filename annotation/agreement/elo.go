package agreement

import (
	"fmt"
	"math"
)

// OnlineElo runs the sequential Elo update over the battles in the order
// given, as FastChat's compute_elo does: every model starts at 1000; for a
// battle, E_A = 1/(1 + 10^((R_B − R_A)/400)), S_A is 1, 0 or ½ (tie), and
// R_A += k(S_A − E_A), R_B += k(1 − S_A − E_B). The update is zero-sum, so
// the ratings always total 1000 × len(models). Unlike the Bradley–Terry MLE
// the result depends on the order of the battles. FastChat uses k = 4.
//
// ratings[i] is models[i]'s rating; a model with no battle keeps 1000.
// Errors: ErrOption (k not positive and finite) and those of WinMatrix for
// an unknown or repeated model, a self-battle or an invalid outcome.
func OnlineElo(models []string, battles []Battle, k float64) ([]float64, error) {
	if !(k > 0) || math.IsInf(k, 0) {
		return nil, fmt.Errorf("online elo: K factor %v must be positive and finite: %w", k, ErrOption)
	}
	index := make(map[string]int, len(models))
	for i, m := range models {
		if prev, dup := index[m]; dup {
			return nil, fmt.Errorf("online elo: models %d and %d are both %q: %w", prev, i, m, ErrValue)
		}
		index[m] = i
	}
	ratings := make([]float64, len(models))
	for i := range ratings {
		ratings[i] = EloMean
	}
	for n, b := range battles {
		i, okA := index[b.A]
		j, okB := index[b.B]
		var sa float64
		switch b.Outcome {
		case AWins:
			sa = 1
		case BWins:
			sa = 0
		case Tie:
			sa = 0.5
		default:
			return nil, fmt.Errorf("online elo: battle %d: outcome %d: %w", n, int(b.Outcome), ErrValue)
		}
		switch {
		case !okA:
			return nil, fmt.Errorf("online elo: battle %d: unknown model %q: %w", n, b.A, ErrValue)
		case !okB:
			return nil, fmt.Errorf("online elo: battle %d: unknown model %q: %w", n, b.B, ErrValue)
		case i == j:
			return nil, fmt.Errorf("online elo: battle %d: model %q against itself: %w", n, b.A, ErrValue)
		}
		ra, rb := ratings[i], ratings[j]
		ea := 1 / (1 + math.Pow(EloBase, (rb-ra)/EloScale))
		eb := 1 / (1 + math.Pow(EloBase, (ra-rb)/EloScale))
		ratings[i] += k * (sa - ea)
		ratings[j] += k * (1 - sa - eb)
	}
	return ratings, nil
}
