package agreement

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// simulateStyle draws battles between models of the given true ratings
// (Elo scale) whose caption "lengths" are base[i] + noise, preferring the
// longer one by gamma Elo points per unit of length difference. Each
// battle is one record, ties never happen.
func simulateStyle(r *rand.Rand, elo, base []float64, gamma float64, battles int) []StyleRecord {
	var out []StyleRecord
	for range battles {
		a := r.IntN(len(elo))
		b := r.IntN(len(elo) - 1)
		if b >= a {
			b++
		}
		d := (base[a] + r.NormFloat64()) - (base[b] + r.NormFloat64())
		p := WinProbability(elo[a]+gamma*d, elo[b])
		rec := StyleRecord{A: a, B: b, D: d}
		if r.Float64() < p {
			rec.WinsA = 1
		} else {
			rec.WinsB = 1
		}
		out = append(out, rec)
	}
	return out
}

// At the estimate the score equations hold: every model's score equals
// its expected score, and the covariate's residuals are orthogonal to it.
func checkScoreEquations(t *testing.T, fit StyleFit, records []StyleRecord) {
	t.Helper()
	k := len(fit.Elo)
	res := make([]float64, k)
	var resD float64
	gamma := fit.Coefficient * math.Ln10 / EloScale
	for _, rec := range records {
		ta := (fit.Elo[rec.A] - EloMean) * math.Ln10 / EloScale
		tb := (fit.Elo[rec.B] - EloMean) * math.Ln10 / EloScale
		p := sigmoid(ta - tb + gamma*rec.D)
		g := rec.WinsA - (rec.WinsA+rec.WinsB)*p
		res[rec.A] += g
		res[rec.B] -= g
		resD += g * rec.D
	}
	for i, g := range res {
		if math.Abs(g) > 1e-6 {
			t.Errorf("model %d: score − expected score = %g, want 0 at the maximum", i, g)
		}
	}
	if math.Abs(resD) > 1e-6 {
		t.Errorf("covariate score equation = %g, want 0", resD)
	}
	var mean float64
	for _, e := range fit.Elo {
		mean += e
	}
	if mean /= float64(k); math.Abs(mean-EloMean) > 1e-9 {
		t.Errorf("mean rating %v, want %v", mean, float64(EloMean))
	}
}

func TestBradleyTerryStyleRecoversRatingsAndEffect(t *testing.T) {
	models := []string{"a", "b", "c", "d", "e"}
	tests := []struct {
		name  string
		elo   []float64
		base  []float64
		gamma float64
	}{
		{"no length effect", []float64{1150, 1050, 1000, 950, 850}, []float64{0, 0, 0, 0, 0}, 0},
		{"length effect, lengths unrelated to quality", []float64{1150, 1050, 1000, 950, 850}, []float64{0, 0, 0, 0, 0}, 120},
		// The worst model writes the longest captions: plain BT is fooled,
		// the style fit is not.
		{"length confounded with model", []float64{1100, 1050, 1000, 950, 900}, []float64{-1, -0.5, 0, 0.5, 1.5}, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, 12))
			recs := simulateStyle(r, tt.elo, tt.base, tt.gamma, 40000)
			fit, err := BradleyTerryStyle(models, recs)
			if err != nil {
				t.Fatal(err)
			}
			checkScoreEquations(t, fit, recs)
			for i, want := range tt.elo {
				if got := fit.Elo[i]; math.Abs(got-want) > 20 {
					t.Errorf("model %s: %.1f, want %.0f ± 20", models[i], got, want)
				}
				if fit.Status[i] != Rated {
					t.Errorf("model %s: status %v", models[i], fit.Status[i])
				}
			}
			if math.Abs(fit.Coefficient-tt.gamma) > 12 {
				t.Errorf("coefficient %.1f, want %.0f ± 12", fit.Coefficient, tt.gamma)
			}
			if tt.base[4] > 0 && tt.gamma > 0 {
				battles := make([]Battle, len(recs))
				for i, rec := range recs {
					battles[i] = Battle{A: models[rec.A], B: models[rec.B], Outcome: AWins}
					if rec.WinsB > 0 {
						battles[i].Outcome = BWins
					}
				}
				plain, err := BradleyTerry(models, battles)
				if err != nil {
					t.Fatal(err)
				}
				if plain.Elo[4] <= plain.Elo[0] {
					t.Errorf("plain BT rates the long-winded worst model %.0f, the best %.0f: the case does not confound", plain.Elo[4], plain.Elo[0])
				}
			}
		})
	}
}

func TestBradleyTerryStyleErrors(t *testing.T) {
	models := []string{"a", "b", "c"}
	cycle := []StyleRecord{{A: 0, B: 1, D: 1, WinsA: 2, WinsB: 1}, {A: 1, B: 2, D: -1, WinsA: 2, WinsB: 1}, {A: 2, B: 0, D: 0.5, WinsA: 1, WinsB: 1}}
	tests := []struct {
		name       string
		models     []string
		records    []StyleRecord
		want       error
		wantStatus []FitStatus
	}{
		{name: "one model", models: []string{"a"}, want: ErrNoPairable},
		{name: "index out of range", models: models, records: []StyleRecord{{A: 0, B: 3, WinsA: 1}}, want: ErrValue},
		{name: "model against itself", models: models, records: []StyleRecord{{A: 1, B: 1, WinsA: 1}}, want: ErrValue},
		{name: "negative score", models: models, records: []StyleRecord{{A: 0, B: 1, WinsA: -1}}, want: ErrValue},
		{name: "NaN covariate", models: models, records: []StyleRecord{{A: 0, B: 1, D: math.NaN(), WinsA: 1}}, want: ErrValue},
		{name: "undefeated model", models: models,
			records:    []StyleRecord{{A: 0, B: 1, D: 1, WinsA: 1}, {A: 0, B: 2, D: -1, WinsA: 1}, {A: 1, B: 2, D: 1, WinsA: 1, WinsB: 1}},
			want:       ErrNotEstimable,
			wantStatus: []FitStatus{Undefeated, Unidentified, Unidentified}},
		{name: "covariate always 0", models: models,
			records: []StyleRecord{{A: 0, B: 1, WinsA: 2, WinsB: 1}, {A: 1, B: 2, WinsA: 2, WinsB: 1}, {A: 2, B: 0, WinsA: 1, WinsB: 1}},
			want:    ErrNoVariation},
		// Every comparison won by the side with the larger covariate: γ
		// runs off to infinity.
		{name: "covariate separates the outcomes", models: models,
			records: []StyleRecord{{A: 0, B: 1, D: 1, WinsA: 3}, {A: 0, B: 1, D: -1, WinsB: 3}, {A: 1, B: 2, D: 2, WinsA: 3},
				{A: 1, B: 2, D: -0.5, WinsB: 3}, {A: 2, B: 0, D: 1, WinsA: 3}, {A: 2, B: 0, D: -2, WinsB: 3}},
			want:       ErrNotEstimable,
			wantStatus: []FitStatus{Unidentified, Unidentified, Unidentified}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := BradleyTerryStyle(tt.models, tt.records)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !math.IsNaN(fit.Coefficient) {
				t.Errorf("coefficient %v with an error, want NaN", fit.Coefficient)
			}
			for i, e := range fit.Elo {
				if !math.IsNaN(e) {
					t.Errorf("rating %d = %v with an error, want NaN", i, e)
				}
			}
			for i, s := range tt.wantStatus {
				if fit.Status[i] != s {
					t.Errorf("status %d = %v, want %v", i, fit.Status[i], s)
				}
			}
		})
	}
	// The cycle is estimable: a finite fit satisfying its score equations.
	fit, err := BradleyTerryStyle(models, cycle)
	if err != nil {
		t.Fatal(err)
	}
	checkScoreEquations(t, fit, cycle)
}
