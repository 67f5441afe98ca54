package agreement

import (
	"fmt"
	"math"
	"strings"
)

// The Elo scale of Bradley–Terry ratings and of online Elo, as in LMSYS's
// Chatbot Arena: P(i beats j) = 1/(1 + Base^((R_j − R_i)/Scale)).
const (
	EloScale = 400
	EloBase  = 10
	// EloMean is the mean of Bradley–Terry ratings and online Elo's initial
	// rating.
	EloMean = 1000
)

// Outcome is the result of one pairwise battle. The zero value is invalid.
type Outcome int

// The outcomes. A tie (including LMSYS's "tie (bothbad)") counts as half a
// win to each side.
const (
	AWins Outcome = iota + 1
	BWins
	Tie
)

// Battle is one pairwise comparison between captioners A and B (by name).
type Battle struct {
	A, B    string
	Outcome Outcome
}

// FitStatus says whether a Bradley–Terry rating was estimated, and if not
// why not.
type FitStatus int

// The statuses. All but Rated come with a NaN rating: the maximum-likelihood
// estimate exists only when the directed graph "i has beaten or tied j" is
// strongly connected, and otherwise diverges.
const (
	// Rated: the rating is the maximum-likelihood estimate.
	Rated FitStatus = iota + 1
	// Undefeated: the captioner never lost nor tied; its MLE is +∞.
	Undefeated
	// Winless: the captioner never won nor tied; its MLE is −∞.
	Winless
	// Unplayed: the captioner took part in no battle.
	Unplayed
	// Unidentified: the captioner won and lost, but the comparison graph is
	// not strongly connected (e.g. a group that beat every outsider), so no
	// finite MLE exists for anyone.
	Unidentified
)

var fitStatusNames = [...]string{Rated: "rated", Undefeated: "undefeated", Winless: "winless", Unplayed: "unplayed", Unidentified: "unidentified"}

// String returns the status's lower-case name, e.g. "undefeated".
func (s FitStatus) String() string {
	if s >= Rated && s <= Unidentified {
		return fitStatusNames[s]
	}
	return fmt.Sprintf("FitStatus(%d)", int(s))
}

// BTRatings is a Bradley–Terry fit: Elo[i] is the rating of Models[i] on the
// Elo scale, NaN unless Status[i] is Rated.
type BTRatings struct {
	Models []string
	Elo    []float64
	Status []FitStatus
}

// BradleyTerry fits the Bradley–Terry model by maximum likelihood to the
// battles between models (names; every battle must name two different
// listed models) and returns the ratings on the Elo scale: R_i = 1000 +
// 400·log10(π_i), normalized so that their mean is 1000 (Σ log π_i = 0) with
// no anchor model. That is also what LMSYS's notebook and FastChat return
// when no anchor is pinned; to anchor a model at a value, shift every rating
// by the same amount. Ties count as half a win to each side (LMSYS's
// duplication of battles gives the same estimate).
//
// When the MLE does not exist the result still lists every model with its
// FitStatus and a NaN rating, and the error wraps ErrNotEstimable naming the
// undefeated, winless and unplayed models. Other errors: ErrNoPairable
// (fewer than two models), ErrValue (an unknown or repeated model, a model
// playing itself, an invalid outcome).
func BradleyTerry(models []string, battles []Battle) (BTRatings, error) {
	wins, err := WinMatrix(models, battles)
	if err != nil {
		return BTRatings{}, fmt.Errorf("bradley-terry: %w", err)
	}
	elo, status, err := fitBT(wins)
	res := BTRatings{Models: models, Elo: elo, Status: status}
	if err != nil {
		return res, fmt.Errorf("bradley-terry: %s%w", describeStatus(models, status), err)
	}
	return res, nil
}

// BradleyTerryWins is BradleyTerry on a win matrix (see WinMatrix):
// wins[i][j] is what model i scored against model j (1 per win, ½ per tie).
// The matrix must be square, non-negative and finite; the diagonal is
// ignored. Elo and status are indexed like the rows.
func BradleyTerryWins(wins [][]float64) (elo []float64, status []FitStatus, err error) {
	for i, row := range wins {
		if len(row) != len(wins) {
			return nil, nil, fmt.Errorf("bradley-terry: row %d has %d columns, want %d: %w", i, len(row), len(wins), ErrLength)
		}
		for j, w := range row {
			if i != j && (w < 0 || math.IsNaN(w) || math.IsInf(w, 0)) {
				return nil, nil, fmt.Errorf("bradley-terry: wins[%d][%d] = %v: %w", i, j, w, ErrValue)
			}
		}
	}
	elo, status, err = fitBT(wins)
	if err != nil {
		names := make([]string, len(wins))
		for i := range names {
			names[i] = fmt.Sprint(i)
		}
		return elo, status, fmt.Errorf("bradley-terry: %s%w", describeStatus(names, status), err)
	}
	return elo, status, nil
}

// WinMatrix adds the battles up: wins[i][j] is the score of models[i]
// against models[j], 1 per win and ½ per tie, so wins[i][j] + wins[j][i] is
// the number of battles between them.
func WinMatrix(models []string, battles []Battle) ([][]float64, error) {
	index := make(map[string]int, len(models))
	for i, m := range models {
		if prev, dup := index[m]; dup {
			return nil, fmt.Errorf("models %d and %d are both %q: %w", prev, i, m, ErrValue)
		}
		index[m] = i
	}
	wins := make([][]float64, len(models))
	for i := range wins {
		wins[i] = make([]float64, len(models))
	}
	for k, b := range battles {
		i, okA := index[b.A]
		j, okB := index[b.B]
		switch {
		case !okA:
			return nil, fmt.Errorf("battle %d: unknown model %q: %w", k, b.A, ErrValue)
		case !okB:
			return nil, fmt.Errorf("battle %d: unknown model %q: %w", k, b.B, ErrValue)
		case i == j:
			return nil, fmt.Errorf("battle %d: model %q against itself: %w", k, b.A, ErrValue)
		}
		switch b.Outcome {
		case AWins:
			wins[i][j]++
		case BWins:
			wins[j][i]++
		case Tie:
			wins[i][j] += 0.5
			wins[j][i] += 0.5
		default:
			return nil, fmt.Errorf("battle %d: outcome %d: %w", k, int(b.Outcome), ErrValue)
		}
	}
	return wins, nil
}

// WinProbability returns the probability that a captioner rated ri beats
// one rated rj on the Elo scale: 1/(1 + 10^((rj − ri)/400)).
func WinProbability(ri, rj float64) float64 {
	return 1 / (1 + math.Pow(EloBase, (rj-ri)/EloScale))
}

// describeStatus names the models that were not rated, by status, as a
// prefix for an error message ("" when there are none).
func describeStatus(names []string, status []FitStatus) string {
	var parts []string
	for _, s := range []FitStatus{Undefeated, Winless, Unplayed, Unidentified} {
		var of []string
		for i, st := range status {
			if st == s {
				of = append(of, names[i])
			}
		}
		if len(of) > 0 {
			parts = append(parts, s.String()+": "+strings.Join(of, ", "))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + ": "
}

// fitBT checks identifiability, then maximizes the log-likelihood
// Σ_ij W_ij log σ(θ_i − θ_j) by Newton's method with θ_last fixed at 0
// (the likelihood is concave, and strictly so on that subspace when the
// graph is strongly connected) and a backtracking line search, which
// makes it converge from θ = 0 however lopsided the records are. A
// win matrix of k models costs O(k³) per iteration, independent of the
// number of battles, which is what makes a bootstrap cheap.
func fitBT(w [][]float64) ([]float64, []FitStatus, error) {
	k := len(w)
	if k < 2 {
		return nil, nil, fmt.Errorf("%d models: %w", k, ErrNoPairable)
	}
	status := make([]FitStatus, k)
	elo := make([]float64, k)
	if !btStatus(w, status) {
		for i := range elo {
			elo[i] = math.NaN()
		}
		return elo, status, ErrNotEstimable
	}
	theta := make([]float64, k)
	next := make([]float64, k)
	grad := make([]float64, k-1)
	hess := make([]float64, (k-1)*(k-1))
	ll := btLogLik(w, theta)
	// Newton converges quadratically, so a step under 1e-12 (2e-10 Elo
	// points) ends it within a few iterations; the limit only guards against
	// rounding noise keeping the last steps just above that, in which case
	// a step under 1e-8 is still far below what any caller can use.
	lastStep := math.Inf(1)
	for iter := 0; iter < 100 && lastStep >= 1e-12; iter++ {
		clear(grad)
		clear(hess)
		for i := 0; i < k; i++ {
			for j := i + 1; j < k; j++ {
				nij := w[i][j] + w[j][i]
				if nij == 0 {
					continue
				}
				p := sigmoid(theta[i] - theta[j])
				// ∂/∂θ_i of W_ij log p + W_ji log(1−p) is W_ij − n_ij p.
				g := w[i][j] - nij*p
				h := nij * p * (1 - p)
				if i < k-1 {
					grad[i] += g
					hess[i*(k-1)+i] += h
				}
				if j < k-1 {
					grad[j] -= g
					hess[j*(k-1)+j] += h
				}
				if i < k-1 && j < k-1 {
					hess[i*(k-1)+j] -= h
					hess[j*(k-1)+i] -= h
				}
			}
		}
		step, ok := choleskySolve(hess, grad, k-1)
		if !ok {
			break // only rounding can get here on a connected graph
		}
		t := 1.0
		for halvings := 0; ; halvings++ {
			for i := 0; i < k-1; i++ {
				next[i] = theta[i] + t*step[i]
			}
			nll := btLogLik(w, next)
			if nll >= ll-1e-12*(1+math.Abs(ll)) || halvings == 60 {
				ll = nll
				break
			}
			t /= 2
		}
		var maxStep float64
		for i := 0; i < k-1; i++ {
			maxStep = math.Max(maxStep, math.Abs(next[i]-theta[i]))
		}
		theta, next = next, theta
		lastStep = maxStep
	}
	if !(lastStep < 1e-8) {
		for i := range elo {
			elo[i], status[i] = math.NaN(), Unidentified
		}
		return elo, status, fmt.Errorf("newton iteration did not converge (last step %g): %w", lastStep, ErrNotEstimable)
	}
	var mean float64
	for _, t := range theta {
		mean += t
	}
	mean /= float64(k)
	for i, t := range theta {
		elo[i] = EloMean + EloScale*(t-mean)/math.Ln10
	}
	return elo, status, nil
}

// btStatus fills status and reports whether the "has beaten or tied" graph
// is strongly connected (every model reachable from model 0 along it and
// along its reverse).
func btStatus(w [][]float64, status []FitStatus) bool {
	k := len(w)
	forward := reach(k, func(i, j int) bool { return w[i][j] > 0 })
	backward := reach(k, func(i, j int) bool { return w[j][i] > 0 })
	connected := true
	for i := 0; i < k; i++ {
		connected = connected && forward[i] && backward[i]
	}
	for i := 0; i < k; i++ {
		var won, lost float64
		for j := 0; j < k; j++ {
			if i != j {
				won += w[i][j]
				lost += w[j][i]
			}
		}
		switch {
		case connected:
			status[i] = Rated
		case won == 0 && lost == 0:
			status[i] = Unplayed
		case lost == 0:
			status[i] = Undefeated
		case won == 0:
			status[i] = Winless
		default:
			status[i] = Unidentified
		}
	}
	return connected
}

func reach(k int, edge func(i, j int) bool) []bool {
	seen := make([]bool, k)
	seen[0] = true
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for j := 0; j < k; j++ {
			if !seen[j] && j != i && edge(i, j) {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	return seen
}

func btLogLik(w [][]float64, theta []float64) float64 {
	var ll float64
	for i := range w {
		for j := i + 1; j < len(w); j++ {
			d := theta[i] - theta[j]
			if w[i][j] > 0 {
				ll += w[i][j] * logSigmoid(d)
			}
			if w[j][i] > 0 {
				ll += w[j][i] * logSigmoid(-d)
			}
		}
	}
	return ll
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// logSigmoid returns log σ(x) without overflow for large |x|.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// choleskySolve solves A x = b for a symmetric positive-definite n × n A
// (row-major); ok is false when A is not positive definite.
func choleskySolve(a, b []float64, n int) (x []float64, ok bool) {
	l := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := a[i*n+j]
			for p := 0; p < j; p++ {
				s -= l[i*n+p] * l[j*n+p]
			}
			if i == j {
				if s <= 0 {
					return nil, false
				}
				l[i*n+i] = math.Sqrt(s)
			} else {
				l[i*n+j] = s / l[j*n+j]
			}
		}
	}
	x = make([]float64, n)
	for i := 0; i < n; i++ { // L y = b
		s := b[i]
		for p := 0; p < i; p++ {
			s -= l[i*n+p] * x[p]
		}
		x[i] = s / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- { // Lᵀ x = y
		s := x[i]
		for p := i + 1; p < n; p++ {
			s -= l[p*n+i] * x[p]
		}
		x[i] = s / l[i*n+i]
	}
	return x, true
}
