package agreement

import (
	"fmt"
	"math"
)

// StyleRecord is what models A and B (indices into the model list) scored
// against each other in comparisons that share one covariate difference
// D = s_A − s_B, such as the difference of the two captions' standardized
// lengths: WinsA and WinsB, 1 per win and ½ per tie, as in WinMatrix. One
// battle is one record; the battles of one pair of captions can share one.
type StyleRecord struct {
	A, B         int
	D            float64
	WinsA, WinsB float64
}

// StyleFit is a Bradley–Terry fit with one covariate: the ratings on the
// Elo scale with the covariate's effect taken out, and Coefficient, that
// effect in Elo points per unit of D (a record with D = 1 shifts the odds
// as a rating difference of Coefficient points would; positive favours
// the side with the larger covariate). Coefficient is NaN when the fit
// fails.
type StyleFit struct {
	BTRatings
	Coefficient float64
}

// maxStyleLogOdds bounds the parameters of BradleyTerryStyle on the
// natural log-odds scale (±40 is odds of 2·10^17, ±6,900 Elo points): past
// it the likelihood is still rising, i.e. the records are separable and
// the maximum-likelihood estimate is at infinity.
const maxStyleLogOdds = 40

// BradleyTerryStyle fits Bradley–Terry with a covariate by maximum
// likelihood, the style control of Chatbot Arena and VisionArena:
// P(A beats B) = σ(θ_A − θ_B + γ·D), ties counting half a win to each
// side, and returns R_i = 1000 + 400·θ_i/ln 10 with mean rating 1000 and
// Coefficient = 400·γ/ln 10. With every D = 0 the model is BradleyTerry,
// but γ is then not identified: that is an ErrNoVariation.
//
// The estimate exists only when the plain comparison graph is strongly
// connected (otherwise the statuses say who is undefeated, winless…, as
// BradleyTerry does) and the covariate does not separate the outcomes
// (say, the longer caption won every comparison): then the parameters
// leave ±maxStyleLogOdds and every model is Unidentified. Both wrap
// ErrNotEstimable, with NaN ratings and coefficient. Other errors:
// ErrNoPairable (fewer than two models), ErrValue (an index out of range,
// a model against itself, a negative or non-finite score, a non-finite D).
//
// The fit is Newton's method on (θ_0..θ_{k−2}, γ) with θ_{k−1} = 0 and a
// backtracking line search; each iteration costs O(records + k³).
func BradleyTerryStyle(models []string, records []StyleRecord) (StyleFit, error) {
	k := len(models)
	fail := func(status []FitStatus) StyleFit {
		elo := make([]float64, k)
		for i := range elo {
			elo[i] = math.NaN()
		}
		return StyleFit{BTRatings: BTRatings{Models: models, Elo: elo, Status: status}, Coefficient: math.NaN()}
	}
	if k < 2 {
		return fail(make([]FitStatus, k)), fmt.Errorf("bradley-terry with style: %d models: %w", k, ErrNoPairable)
	}
	wins := make([][]float64, k)
	for i := range wins {
		wins[i] = make([]float64, k)
	}
	varies := false
	for r, rec := range records {
		switch {
		case rec.A < 0 || rec.A >= k || rec.B < 0 || rec.B >= k:
			return fail(make([]FitStatus, k)), fmt.Errorf("bradley-terry with style: record %d: model index %d or %d outside [0, %d): %w", r, rec.A, rec.B, k, ErrValue)
		case rec.A == rec.B:
			return fail(make([]FitStatus, k)), fmt.Errorf("bradley-terry with style: record %d: model %q against itself: %w", r, models[rec.A], ErrValue)
		case !(rec.WinsA >= 0) || !(rec.WinsB >= 0) || math.IsInf(rec.WinsA, 0) || math.IsInf(rec.WinsB, 0):
			return fail(make([]FitStatus, k)), fmt.Errorf("bradley-terry with style: record %d: scores %v and %v (want finite numbers ≥ 0): %w", r, rec.WinsA, rec.WinsB, ErrValue)
		case math.IsNaN(rec.D) || math.IsInf(rec.D, 0):
			return fail(make([]FitStatus, k)), fmt.Errorf("bradley-terry with style: record %d: covariate difference %v: %w", r, rec.D, ErrValue)
		}
		wins[rec.A][rec.B] += rec.WinsA
		wins[rec.B][rec.A] += rec.WinsB
		if rec.D != 0 && rec.WinsA+rec.WinsB > 0 {
			varies = true
		}
	}
	status := make([]FitStatus, k)
	if !btStatus(wins, status) {
		return fail(status), fmt.Errorf("bradley-terry with style: %s%w", describeStatus(models, status), ErrNotEstimable)
	}
	if !varies {
		return fail(status), fmt.Errorf("bradley-terry with style: the covariate difference is 0 in every comparison, so its effect is not identified: %w", ErrNoVariation)
	}

	// Parameters: θ_0..θ_{k−2} at 0..k−2, γ at k−1; θ_{k−1} = 0.
	n := k
	beta := make([]float64, n)
	next := make([]float64, n)
	grad := make([]float64, n)
	hess := make([]float64, n*n)
	eta := func(b []float64, rec StyleRecord) float64 {
		var ti, tj float64
		if rec.A < k-1 {
			ti = b[rec.A]
		}
		if rec.B < k-1 {
			tj = b[rec.B]
		}
		return ti - tj + b[k-1]*rec.D
	}
	logLik := func(b []float64) float64 {
		var ll float64
		for _, rec := range records {
			e := eta(b, rec)
			if rec.WinsA > 0 {
				ll += rec.WinsA * logSigmoid(e)
			}
			if rec.WinsB > 0 {
				ll += rec.WinsB * logSigmoid(-e)
			}
		}
		return ll
	}
	ll := logLik(beta)
	lastStep := math.Inf(1)
	for iter := 0; iter < 100 && lastStep >= 1e-12; iter++ {
		clear(grad)
		clear(hess)
		for _, rec := range records {
			nab := rec.WinsA + rec.WinsB
			if nab == 0 {
				continue
			}
			p := sigmoid(eta(beta, rec))
			g := rec.WinsA - nab*p // ∂ℓ/∂η
			h := nab * p * (1 - p) // −∂²ℓ/∂η²
			// ∂η/∂β: +1 at A, −1 at B (unless fixed), D at γ.
			var idx [3]int
			var sgn [3]float64
			m := 0
			if rec.A < k-1 {
				idx[m], sgn[m] = rec.A, 1
				m++
			}
			if rec.B < k-1 {
				idx[m], sgn[m] = rec.B, -1
				m++
			}
			idx[m], sgn[m] = k-1, rec.D
			m++
			for a := 0; a < m; a++ {
				grad[idx[a]] += g * sgn[a]
				for b := 0; b < m; b++ {
					hess[idx[a]*n+idx[b]] += h * sgn[a] * sgn[b]
				}
			}
		}
		step, ok := choleskySolve(hess, grad, n)
		if !ok {
			break
		}
		t := 1.0
		for halvings := 0; ; halvings++ {
			for i := range beta {
				next[i] = beta[i] + t*step[i]
			}
			nll := logLik(next)
			if nll >= ll-1e-12*(1+math.Abs(ll)) || halvings == 60 {
				ll = nll
				break
			}
			t /= 2
		}
		var maxStep, maxAbs float64
		for i := range beta {
			maxStep = math.Max(maxStep, math.Abs(next[i]-beta[i]))
			maxAbs = math.Max(maxAbs, math.Abs(next[i]))
		}
		beta, next = next, beta
		lastStep = maxStep
		if maxAbs > maxStyleLogOdds {
			lastStep = math.Inf(1)
			break
		}
	}
	if !(lastStep < 1e-8) {
		for i := range status {
			status[i] = Unidentified
		}
		return fail(status), fmt.Errorf("bradley-terry with style: the likelihood has no finite maximum (the covariate separates the outcomes, or the iteration did not converge): %w", ErrNotEstimable)
	}
	var mean float64
	for i := 0; i < k-1; i++ {
		mean += beta[i]
	}
	mean /= float64(k) // θ_{k−1} = 0 counts in the mean
	elo := make([]float64, k)
	for i := range elo {
		var th float64
		if i < k-1 {
			th = beta[i]
		}
		elo[i] = EloMean + EloScale*(th-mean)/math.Ln10
	}
	return StyleFit{BTRatings: BTRatings{Models: models, Elo: elo, Status: status}, Coefficient: EloScale * beta[k-1] / math.Ln10}, nil
}
