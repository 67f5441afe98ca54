package agreement

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"capeval/internal/sharedtest"
)

// vector is one case of ../shared/testdata/agreement/vectors.json.
type vector struct {
	Name       string          `json:"name"`
	Metric     string          `json:"metric"`
	Inputs     json.RawMessage `json:"inputs"`
	Parameters json.RawMessage `json:"parameters"`
	Expected   json.RawMessage `json:"expected"`
	Tolerance  *struct {
		Abs    *float64 `json:"abs"`
		AbsElo *float64 `json:"abs_elo_points"`
	} `json:"tolerance"`
}

// tol returns the case's absolute tolerance, or -1 for a behavioural case
// (tolerance null: the code must return an error or NaN).
func (v *vector) tol(t *testing.T) float64 {
	t.Helper()
	switch {
	case v.Tolerance == nil:
		return -1
	case v.Tolerance.Abs != nil:
		return *v.Tolerance.Abs
	case v.Tolerance.AbsElo != nil:
		return *v.Tolerance.AbsElo
	}
	t.Fatalf("%s: tolerance has neither abs nor abs_elo_points", v.Name)
	return 0
}

func decode(t *testing.T, raw json.RawMessage, into any) {
	t.Helper()
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("decode %s: %v", raw[:min(len(raw), 80)], err)
	}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.17g, want %.17g (±%g, off by %.3g)", what, got, want, tol, got-want)
	}
}

// checkFraction compares got with an exact fraction "p/q" when one is given.
func checkFraction(t *testing.T, what string, got float64, frac string, tol float64) {
	t.Helper()
	if frac == "" {
		return
	}
	r, ok := new(big.Rat).SetString(frac)
	if !ok {
		t.Fatalf("%s: bad fraction %q", what, frac)
	}
	f, _ := r.Float64()
	near(t, what+" (exact "+frac+")", got, f, tol)
}

// checkPublished checks that got rounds to the figure the source printed,
// at the precision it printed ("3 decimals"), where the case says which.
func checkPublished(t *testing.T, got float64, exp map[string]json.RawMessage) {
	t.Helper()
	pubRaw, ok := exp["published_value"]
	roundRaw, ok2 := exp["published_rounding"]
	if !ok || !ok2 {
		return
	}
	var pub float64
	var rounding string
	decode(t, pubRaw, &pub)
	decode(t, roundRaw, &rounding)
	digits, err := strconv.Atoi(strings.Fields(rounding)[0])
	if err != nil {
		t.Fatalf("published_rounding %q: %v", rounding, err)
	}
	scale := math.Pow(10, float64(digits))
	if r := math.Round(got*scale) / scale; math.Abs(r-pub) > 1e-12 {
		t.Errorf("rounded to %d decimals %v, published %v", digits, r, pub)
	}
}

// nullable decodes numbers with null as NaN (a missing rating).
type nullable float64

func (n *nullable) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = nullable(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = nullable(f)
	return nil
}

func floats(v []nullable) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestConformance runs every vector of ../shared/testdata/agreement, one
// subtest per case name. An unknown metric fails, so that a case added to
// the file is never skipped silently.
func TestConformance(t *testing.T) {
	path := sharedtest.Path(t, "testdata", "agreement", "vectors.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []vector `json:"cases"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(file.Cases) == 0 {
		t.Fatalf("%s holds no cases", path)
	}
	seen := map[string]bool{}
	for _, v := range file.Cases {
		if seen[v.Name] {
			t.Fatalf("case name %q repeats", v.Name)
		}
		seen[v.Name] = true
		t.Run(v.Name, func(t *testing.T) {
			run, ok := conformanceRunners[v.Metric]
			if !ok {
				t.Fatalf("metric %q has no runner", v.Metric)
			}
			run(t, &v)
		})
	}
	t.Logf("%d cases", len(file.Cases))
}

var conformanceRunners = map[string]func(*testing.T, *vector){
	"krippendorff_alpha":           runAlpha,
	"fleiss_kappa":                 runMultiKappa,
	"randolph_free_marginal_kappa": runMultiKappa,
	"cohen_kappa":                  runCohen,
	"correlation":                  runCorrelation,
	"bradley_terry_mle_elo_scale":  runBradleyTerry,
	"elo_online":                   runOnlineElo,
	"bootstrap_percentile_ci":      runBootstrap,
	"quantile":                     runQuantile,
}

func runAlpha(t *testing.T, v *vector) {
	var in struct {
		Data [][]nullable `json:"reliability_data"`
	}
	var par struct {
		Level string `json:"level_of_measurement"`
	}
	var exp struct {
		Alpha    *float64 `json:"alpha"`
		Fraction string   `json:"alpha_exact_fraction"`
	}
	var expAll map[string]json.RawMessage
	decode(t, v.Inputs, &in)
	decode(t, v.Parameters, &par)
	decode(t, v.Expected, &exp)
	decode(t, v.Expected, &expAll)
	level, err := ParseLevel(par.Level)
	if err != nil {
		t.Fatal(err)
	}
	data := make([][]float64, len(in.Data))
	for c, row := range in.Data {
		data[c] = floats(row)
	}
	got, err := Alpha(data, level)
	// The same data as units × values, and with the coders in reverse
	// order, must give the same alpha (coders are exchangeable).
	units := make([][]float64, len(data[0]))
	for u := range units {
		for c := range data {
			units[u] = append(units[u], data[c][u])
		}
	}
	gotUnits, errUnits := AlphaUnits(units, level)
	reversed := make([][]float64, len(data))
	for c := range data {
		reversed[len(data)-1-c] = data[c]
	}
	gotRev, errRev := Alpha(reversed, level)

	tol := v.tol(t)
	if tol < 0 {
		for name, e := range map[string]error{"Alpha": err, "AlphaUnits": errUnits, "Alpha(reversed)": errRev} {
			if !errors.Is(e, ErrNoVariation) {
				t.Errorf("%s: err = %v, want ErrNoVariation", name, e)
			}
		}
		for name, g := range map[string]float64{"Alpha": got, "AlphaUnits": gotUnits, "Alpha(reversed)": gotRev} {
			if !math.IsNaN(g) {
				t.Errorf("%s = %v with an error, want NaN", name, g)
			}
		}
		return
	}
	if err != nil || errUnits != nil || errRev != nil {
		t.Fatalf("errors: %v; %v; %v", err, errUnits, errRev)
	}
	near(t, "alpha", got, *exp.Alpha, tol)
	near(t, "alpha (units × values)", gotUnits, *exp.Alpha, tol)
	near(t, "alpha (coders reversed)", gotRev, *exp.Alpha, tol)
	checkFraction(t, "alpha", got, exp.Fraction, tol)
	checkPublished(t, got, expAll)
}

func runMultiKappa(t *testing.T, v *vector) {
	var in struct {
		Counts [][]int `json:"counts"`
	}
	var par struct {
		Method      string `json:"method"`
		NCategories int    `json:"n_categories"`
	}
	var exp struct {
		Kappa     float64 `json:"kappa"`
		Fraction  string  `json:"kappa_exact_fraction"`
		PBar      float64 `json:"P_bar"`
		PE        float64 `json:"P_e"`
		Published float64 `json:"published_value"`
	}
	decode(t, v.Inputs, &in)
	decode(t, v.Parameters, &par)
	decode(t, v.Expected, &exp)
	if len(in.Counts[0]) != par.NCategories {
		t.Fatalf("table has %d columns, n_categories %d", len(in.Counts[0]), par.NCategories)
	}
	var got Kappa
	var err error
	switch par.Method {
	case "fleiss":
		got, err = Fleiss(in.Counts)
	case "randolph":
		got, err = Randolph(in.Counts)
	default:
		t.Fatalf("method %q", par.Method)
	}
	if err != nil {
		t.Fatal(err)
	}
	tol := v.tol(t)
	near(t, "kappa", got.Value, exp.Kappa, tol)
	near(t, "P̄", got.Observed, exp.PBar, tol)
	near(t, "P̄_e", got.Chance, exp.PE, tol)
	checkFraction(t, "kappa", got.Value, exp.Fraction, tol)
	if exp.Published != 0 {
		// Published figures are printed at 3 to 6 decimals.
		near(t, "kappa vs published", got.Value, exp.Published, 5e-4)
	}
}

func runCohen(t *testing.T, v *vector) {
	var in struct {
		A []json.RawMessage `json:"rater1"`
		B []json.RawMessage `json:"rater2"`
	}
	var par struct {
		Weights    string            `json:"weights"`
		Categories []json.RawMessage `json:"categories"`
	}
	var exp struct {
		Kappa     float64  `json:"kappa"`
		Fraction  string   `json:"kappa_exact_fraction"`
		Published *float64 `json:"published_value"`
	}
	decode(t, v.Inputs, &in)
	decode(t, v.Parameters, &par)
	decode(t, v.Expected, &exp)
	w, err := ParseWeighting(par.Weights)
	if err != nil {
		t.Fatal(err)
	}
	// Numeric categories are used as they are; labels ("yes", "no") are
	// mapped to their position in the category list, which is what the
	// caller of Cohen does with a non-numeric scale.
	label := map[string]float64{}
	var cats []float64
	for i, c := range par.Categories {
		var f float64
		if err := json.Unmarshal(c, &f); err != nil {
			var s string
			decode(t, c, &s)
			label[s] = float64(i)
			f = float64(i)
		}
		cats = append(cats, f)
	}
	value := func(raw json.RawMessage) float64 {
		if string(raw) == "null" {
			return math.NaN()
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err == nil {
			return f
		}
		var s string
		decode(t, raw, &s)
		f, ok := label[s]
		if !ok {
			t.Fatalf("label %q not among the categories", s)
		}
		return f
	}
	var a, b []float64
	for i := range in.A {
		a = append(a, value(in.A[i]))
	}
	for i := range in.B {
		b = append(b, value(in.B[i]))
	}
	tol := v.tol(t)
	got, err := Cohen(a, b, cats, w)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "kappa", got, exp.Kappa, tol)
	checkFraction(t, "kappa", got, exp.Fraction, tol)
	if exp.Published != nil {
		// irr and SAS print 4 to 9 significant digits.
		near(t, "kappa vs published", got, *exp.Published, 5e-5)
	}
	// Cohen's kappa is symmetric in its raters, and the matrix agrees.
	swapped, err := Cohen(b, a, cats, w)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "kappa (raters swapped)", swapped, exp.Kappa, tol)
	m, err := CohenMatrix([][]float64{a, b}, cats, w)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "CohenMatrix[0][1]", m[0][1], exp.Kappa, tol)
	near(t, "CohenMatrix[1][0]", m[1][0], exp.Kappa, tol)
}

func runCorrelation(t *testing.T, v *vector) {
	var in struct {
		X []float64 `json:"x"`
		Y []float64 `json:"y"`
	}
	var exp struct {
		Pearson    *float64 `json:"pearson"`
		Spearman   *float64 `json:"spearman"`
		TauB       *float64 `json:"kendall_tau_b"`
		TauC       *float64 `json:"kendall_tau_c"`
		TauA       *float64 `json:"kendall_tau_a"`
		Concordant int64    `json:"concordant"`
		Discordant int64    `json:"discordant"`
		TiesX      int64    `json:"ties_x_only"`
		TiesY      int64    `json:"ties_y_only"`
		TiesBoth   int64    `json:"ties_both"`
		M          int      `json:"tau_c_m"`
		Fraction   string   `json:"tau_c_exact_fraction"`
	}
	decode(t, v.Inputs, &in)
	decode(t, v.Expected, &exp)
	pe, errP := Pearson(in.X, in.Y)
	sp, errS := Spearman(in.X, in.Y)
	tb, errB := KendallTauB(in.X, in.Y)
	tc, errC := KendallTauC(in.X, in.Y)
	k, errK := Kendall(in.X, in.Y)
	tol := v.tol(t)
	if tol < 0 {
		for name, e := range map[string]error{"Pearson": errP, "Spearman": errS, "KendallTauB": errB, "KendallTauC": errC, "Kendall": errK} {
			if !errors.Is(e, ErrNoVariation) {
				t.Errorf("%s: err = %v, want ErrNoVariation", name, e)
			}
		}
		for name, g := range map[string]float64{"Pearson": pe, "Spearman": sp, "KendallTauB": tb, "KendallTauC": tc} {
			if !math.IsNaN(g) {
				t.Errorf("%s = %v with an error, want NaN", name, g)
			}
		}
		return
	}
	for _, e := range []error{errP, errS, errB, errC, errK} {
		if e != nil {
			t.Fatal(e)
		}
	}
	near(t, "pearson", pe, *exp.Pearson, tol)
	near(t, "spearman", sp, *exp.Spearman, tol)
	near(t, "tau-b", tb, *exp.TauB, tol)
	near(t, "tau-c", tc, *exp.TauC, tol)
	near(t, "tau-a", k.TauA, *exp.TauA, tol)
	checkFraction(t, "tau-c", tc, exp.Fraction, tol)
	gotCounts := [6]int64{k.Concordant, k.Discordant, k.TiesX, k.TiesY, k.TiesBoth, int64(k.M)}
	wantCounts := [6]int64{exp.Concordant, exp.Discordant, exp.TiesX, exp.TiesY, exp.TiesBoth, int64(exp.M)}
	if gotCounts != wantCounts {
		t.Errorf("P, Q, ties x, ties y, ties both, m = %v, want %v", gotCounts, wantCounts)
	}
}

// battles decodes [model_a, model_b, winner] triples in LMSYS's vocabulary.
func battles(t *testing.T, raw [][3]string) []Battle {
	t.Helper()
	out := make([]Battle, len(raw))
	for i, b := range raw {
		out[i] = Battle{A: b[0], B: b[1]}
		switch b[2] {
		case "model_a":
			out[i].Outcome = AWins
		case "model_b":
			out[i].Outcome = BWins
		case "tie", "tie (bothbad)":
			out[i].Outcome = Tie
		default:
			t.Fatalf("battle %d: winner %q", i, b[2])
		}
	}
	return out
}

func runBradleyTerry(t *testing.T, v *vector) {
	var in struct {
		Battles [][3]string `json:"battles"`
		Models  []string    `json:"models"`
	}
	var par struct {
		Scale  float64 `json:"scale"`
		Base   float64 `json:"base"`
		Init   float64 `json:"init_rating"`
		Anchor *string `json:"anchor"`
	}
	var exp struct {
		Ratings map[string]float64            `json:"ratings"`
		Wins    map[string]map[string]float64 `json:"win_matrix_half_ties"`
		Prob    map[string]float64            `json:"predicted_win_prob"`
	}
	decode(t, v.Inputs, &in)
	decode(t, v.Parameters, &par)
	decode(t, v.Expected, &exp)
	if par.Scale != EloScale || par.Base != EloBase || par.Init != EloMean || par.Anchor != nil {
		t.Fatalf("case assumes scale %v, base %v, mean %v, anchor %v", par.Scale, par.Base, par.Init, par.Anchor)
	}
	bs := battles(t, in.Battles)
	tol := v.tol(t)
	fit, err := BradleyTerry(in.Models, bs)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range in.Models {
		if fit.Status[i] != Rated {
			t.Errorf("%s: status %v", m, fit.Status[i])
		}
		near(t, "rating of "+m, fit.Elo[i], exp.Ratings[m], tol)
	}
	wins, err := WinMatrix(in.Models, bs)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, m := range in.Models {
		index[m] = i
	}
	for a, row := range exp.Wins {
		for b, w := range row {
			if got := wins[index[a]][index[b]]; got != w {
				t.Errorf("wins[%s][%s] = %v, want %v", a, b, got, w)
			}
		}
	}
	for pair, p := range exp.Prob {
		a, b, _ := strings.Cut(pair, ">")
		near(t, "P("+pair+")", WinProbability(fit.Elo[index[a]], fit.Elo[index[b]]), p, 1e-9)
	}
}

// modelsInOrder lists the models of the battles in order of first
// appearance.
func modelsInOrder(bs []Battle) []string {
	var models []string
	seen := map[string]bool{}
	for _, b := range bs {
		for _, m := range []string{b.A, b.B} {
			if !seen[m] {
				seen[m] = true
				models = append(models, m)
			}
		}
	}
	return models
}

func runOnlineElo(t *testing.T, v *vector) {
	var in struct {
		Battles [][3]string `json:"battles"`
	}
	var par struct {
		K     float64 `json:"K"`
		Scale float64 `json:"scale"`
		Base  float64 `json:"base"`
		Init  float64 `json:"init_rating"`
		Tie   float64 `json:"tie_score"`
	}
	var exp struct {
		Ratings map[string]float64 `json:"ratings"`
		Sum     float64            `json:"sum_of_ratings"`
	}
	decode(t, v.Inputs, &in)
	decode(t, v.Parameters, &par)
	decode(t, v.Expected, &exp)
	if par.Scale != EloScale || par.Base != EloBase || par.Init != EloMean || par.Tie != 0.5 {
		t.Fatalf("case assumes scale %v, base %v, initial %v, tie %v", par.Scale, par.Base, par.Init, par.Tie)
	}
	bs := battles(t, in.Battles)
	models := modelsInOrder(bs)
	got, err := OnlineElo(models, bs, par.K)
	if err != nil {
		t.Fatal(err)
	}
	tol := v.tol(t)
	var sum float64
	for i, m := range models {
		near(t, "rating of "+m, got[i], exp.Ratings[m], tol)
		sum += got[i]
	}
	near(t, "sum of ratings", sum, exp.Sum, tol)
	if len(exp.Ratings) != len(models) {
		t.Errorf("%d models rated, want %d", len(models), len(exp.Ratings))
	}
}

func runBootstrap(t *testing.T, v *vector) {
	switch v.Name {
	case "bootstrap_bt_explicit_resamples":
		runBootstrapBT(t, v)
	case "bootstrap_exact_enumeration_mean":
		runBootstrapMean(t, v)
	default:
		t.Fatalf("bootstrap case %q has no runner", v.Name)
	}
}

func runBootstrapBT(t *testing.T, v *vector) {
	var in struct {
		Battles   [][3]string `json:"battles"`
		Resamples [][]int     `json:"resample_indices"`
	}
	var par struct {
		Quantiles []float64 `json:"quantiles"`
	}
	var exp struct {
		Replicates []map[string]float64 `json:"replicate_ratings"`
		CI         map[string]struct {
			Lower, Median, Upper float64
			Point                float64 `json:"point_estimate_full_data"`
		} `json:"ci"`
		Rank map[string]int `json:"rank_by_ci"`
	}
	decode(t, v.Inputs, &in)
	decode(t, v.Parameters, &par)
	decode(t, v.Expected, &exp)
	if fmt.Sprint(par.Quantiles) != "[0.025 0.5 0.975]" {
		t.Fatalf("case assumes quantiles %v", par.Quantiles)
	}
	bs := battles(t, in.Battles)
	var models []string
	for m := range exp.CI {
		models = append(models, m)
	}
	sort.Strings(models)
	sub := make([]Battle, len(bs))
	reps, err := BootstrapFrom(len(bs), in.Resamples, func(idx []int) ([]float64, error) {
		for i, k := range idx {
			sub[i] = bs[k]
		}
		fit, err := BradleyTerry(models, sub[:len(idx)])
		return fit.Elo, err
	})
	if err != nil {
		t.Fatal(err)
	}
	tol := v.tol(t)
	if len(reps) != len(exp.Replicates) {
		t.Fatalf("%d replicates, want %d", len(reps), len(exp.Replicates))
	}
	for r, want := range exp.Replicates {
		for i, m := range models {
			near(t, fmt.Sprintf("replicate %d, %s", r, m), reps[r][i], want[m], tol)
		}
	}
	cis, err := PercentileIntervals(reps, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	full, err := BradleyTerry(models, bs)
	if err != nil {
		t.Fatal(err)
	}
	lower, upper := make([]float64, len(models)), make([]float64, len(models))
	for i, m := range models {
		w := exp.CI[m]
		near(t, m+" lower", cis[i].Low, w.Lower, tol)
		near(t, m+" median", cis[i].Median, w.Median, tol)
		near(t, m+" upper", cis[i].High, w.Upper, tol)
		near(t, m+" full-data estimate", full.Elo[i], w.Point, tol)
		lower[i], upper[i] = cis[i].Low, cis[i].High
	}
	best, worst, err := RankByCI(lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range models {
		if best[i] != exp.Rank[m] {
			t.Errorf("rank of %s = %d, want %d", m, best[i], exp.Rank[m])
		}
		if worst[i] < best[i] {
			t.Errorf("rank range of %s = [%d, %d]", m, best[i], worst[i])
		}
	}
}

func runBootstrapMean(t *testing.T, v *vector) {
	var in struct {
		X []float64 `json:"x"`
	}
	var exp struct {
		Quantiles map[string]float64 `json:"quantiles"`
		Mean      float64            `json:"replicate_mean"`
		Variance  float64            `json:"replicate_variance"`
	}
	decode(t, v.Inputs, &in)
	decode(t, v.Expected, &exp)
	n := len(in.X)
	// Every one of the n^n index tuples, in lexicographic order.
	var all [][]int
	idx := make([]int, n)
	for {
		all = append(all, append([]int(nil), idx...))
		i := n - 1
		for i >= 0 && idx[i] == n-1 {
			idx[i] = 0
			i--
		}
		if i < 0 {
			break
		}
		idx[i]++
	}
	reps, err := BootstrapFrom(n, all, func(idx []int) ([]float64, error) {
		var s float64
		for _, k := range idx {
			s += in.X[k]
		}
		return []float64{s / float64(len(idx))}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tol := v.tol(t)
	means := make([]float64, len(reps))
	var mean float64
	for r := range reps {
		means[r] = reps[r][0]
		mean += means[r]
	}
	mean /= float64(len(means))
	var variance float64
	for _, m := range means {
		variance += (m - mean) * (m - mean)
	}
	variance /= float64(len(means))
	near(t, "mean of replicates", mean, exp.Mean, tol)
	near(t, "variance of replicates", variance, exp.Variance, tol)
	for key, want := range exp.Quantiles {
		q, err := strconv.ParseFloat(key, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Quantile(means, q)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "quantile "+key, got, want, tol)
	}
	ci, err := PercentileInterval(means, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "95% CI low", ci.Low, exp.Quantiles["0.025"], tol)
	near(t, "95% CI median", ci.Median, exp.Quantiles["0.5"], tol)
	near(t, "95% CI high", ci.High, exp.Quantiles["0.975"], tol)
	ci90, err := PercentileInterval(means, 0.90)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "90% CI low", ci90.Low, exp.Quantiles["0.05"], tol)
	near(t, "90% CI high", ci90.High, exp.Quantiles["0.95"], tol)
}

func runQuantile(t *testing.T, v *vector) {
	var in struct {
		Values []float64 `json:"values"`
	}
	var exp struct {
		Quantiles map[string]float64 `json:"quantiles"`
	}
	decode(t, v.Inputs, &in)
	decode(t, v.Expected, &exp)
	tol := v.tol(t)
	for key, want := range exp.Quantiles {
		q, err := strconv.ParseFloat(key, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Quantile(in.Values, q)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "quantile "+key, got, want, tol)
	}
}
