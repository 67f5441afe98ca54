package agreement

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// record returns wins·AWins and losses·BWins battles of a against b, and
// ties Tie battles.
func record(a, b string, wins, losses, ties int) []Battle {
	var out []Battle
	for range wins {
		out = append(out, Battle{a, b, AWins})
	}
	for range losses {
		out = append(out, Battle{a, b, BWins})
	}
	for range ties {
		out = append(out, Battle{b, a, Tie})
	}
	return out
}

func TestBradleyTerryAnalytic(t *testing.T) {
	cycle := append(append(record("A", "B", 2, 1, 0), record("B", "C", 2, 1, 0)...), record("C", "A", 2, 1, 0)...)
	tests := []struct {
		name    string
		models  []string
		battles []Battle
		diff    float64 // R_A − R_B
	}{
		{"3–1", []string{"A", "B"}, record("A", "B", 3, 1, 0), 400 * math.Log10(3)},
		{"2–1 with 2 ties", []string{"A", "B"}, record("A", "B", 2, 1, 2), 400 * math.Log10(1.5)},
		{"ties only", []string{"A", "B"}, record("A", "B", 0, 0, 3), 0},
		{"lopsided 1000–1", []string{"A", "B"}, record("A", "B", 1000, 1, 0), 400 * 3},
		{"symmetric cycle", []string{"A", "B", "C"}, cycle, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := BradleyTerry(tt.models, tt.battles)
			if err != nil {
				t.Fatal(err)
			}
			var mean float64
			for i := range fit.Elo {
				if fit.Status[i] != Rated {
					t.Errorf("status %v", fit.Status[i])
				}
				mean += fit.Elo[i] / float64(len(fit.Elo))
			}
			if d := fit.Elo[0] - fit.Elo[1]; math.Abs(d-tt.diff) > 1e-9 {
				t.Errorf("R_A − R_B = %.12g, want %.12g", d, tt.diff)
			}
			if math.Abs(mean-EloMean) > 1e-9 {
				t.Errorf("mean rating %v, want %v", mean, EloMean)
			}
		})
	}
}

// randomBattles draws battles among k models with true strengths spread
// over a few hundred Elo points, and makes sure every pair met both ways
// so the MLE exists.
func randomBattles(r *rand.Rand, k, n int) ([]string, []Battle) {
	models := make([]string, k)
	strength := make([]float64, k)
	for i := range models {
		models[i] = string(rune('a'+i%26)) + strings.Repeat("'", i/26)
		strength[i] = 1000 + 300*r.NormFloat64()
	}
	var bs []Battle
	for i := 0; i < k; i++ {
		bs = append(bs, Battle{models[i], models[(i+1)%k], AWins}, Battle{models[(i+1)%k], models[i], AWins})
	}
	for len(bs) < n {
		i, j := r.IntN(k), r.IntN(k)
		if i == j {
			continue
		}
		b := Battle{models[i], models[j], BWins}
		switch u := r.Float64(); {
		case u < 0.1:
			b.Outcome = Tie
		case u < 0.1+0.9*WinProbability(strength[i], strength[j]):
			b.Outcome = AWins
		}
		bs = append(bs, b)
	}
	return models, bs
}

func TestBradleyTerryProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for trial := 0; trial < 20; trial++ {
		models, bs := randomBattles(r, 2+r.IntN(12), 200)
		fit, err := BradleyTerry(models, bs)
		if err != nil {
			t.Fatal(err)
		}
		// The score equations: each model's wins (ties half) equal its
		// expected wins under the fit.
		wins, _ := WinMatrix(models, bs)
		var mean float64
		for i := range models {
			var got, want float64
			for j := range models {
				if i != j {
					got += wins[i][j]
					want += (wins[i][j] + wins[j][i]) * WinProbability(fit.Elo[i], fit.Elo[j])
				}
			}
			if math.Abs(got-want) > 1e-9 {
				t.Fatalf("model %d: %v wins, the fit expects %v", i, got, want)
			}
			mean += fit.Elo[i]
		}
		if mean /= float64(len(models)); math.Abs(mean-EloMean) > 1e-9 {
			t.Fatalf("mean %v", mean)
		}
		// Doubling every battle leaves the MLE alone; so does listing the
		// models in another order.
		double, err := BradleyTerry(models, append(append([]Battle(nil), bs...), bs...))
		if err != nil {
			t.Fatal(err)
		}
		rev := make([]string, len(models))
		for i, m := range models {
			rev[len(models)-1-i] = m
		}
		reversed, err := BradleyTerry(rev, bs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range models {
			if math.Abs(double.Elo[i]-fit.Elo[i]) > 1e-8 || math.Abs(reversed.Elo[len(models)-1-i]-fit.Elo[i]) > 1e-8 {
				t.Fatalf("model %d: %v; doubled %v; reordered %v", i, fit.Elo[i], double.Elo[i], reversed.Elo[len(models)-1-i])
			}
		}
	}
}

func TestBradleyTerryNotEstimable(t *testing.T) {
	tests := []struct {
		name    string
		models  []string
		battles []Battle
		want    []FitStatus
		inError string
	}{
		{"undefeated and winless", []string{"A", "B"}, record("A", "B", 3, 0, 0),
			[]FitStatus{Undefeated, Winless}, "undefeated: A; winless: B"},
		{"undefeated over a cycle", []string{"A", "B", "C"},
			append(record("A", "B", 2, 0, 0), record("B", "C", 1, 1, 0)...),
			[]FitStatus{Undefeated, Unidentified, Unidentified}, "undefeated: A"},
		// A tie is half a loss: A is no longer undefeated, and the fit
		// exists.
		{"a tie breaks the streak", []string{"A", "B"}, record("A", "B", 3, 0, 1), []FitStatus{Rated, Rated}, ""},
		{"unplayed", []string{"A", "B", "C"}, record("A", "B", 1, 1, 0),
			[]FitStatus{Unidentified, Unidentified, Unplayed}, "unplayed: C"},
		{"two separate groups", []string{"A", "B", "C", "D"},
			append(record("A", "B", 1, 1, 0), record("C", "D", 1, 1, 0)...),
			[]FitStatus{Unidentified, Unidentified, Unidentified, Unidentified}, "unidentified: A, B, C, D"},
		{"a group that beat every outsider", []string{"A", "B", "C", "D"},
			append(append(record("A", "B", 1, 1, 0), record("C", "D", 1, 1, 0)...), record("A", "C", 2, 0, 0)...),
			[]FitStatus{Unidentified, Unidentified, Unidentified, Unidentified}, "unidentified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := BradleyTerry(tt.models, tt.battles)
			for i, s := range tt.want {
				if fit.Status[i] != s {
					t.Errorf("%s: status %v, want %v", tt.models[i], fit.Status[i], s)
				}
				if s != Rated && !math.IsNaN(fit.Elo[i]) {
					t.Errorf("%s: %v with a finite rating %v", tt.models[i], s, fit.Elo[i])
				}
			}
			if tt.inError == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNotEstimable) || !strings.Contains(err.Error(), tt.inError) {
				t.Errorf("err = %v, want ErrNotEstimable naming %q", err, tt.inError)
			}
		})
	}
}

func TestBradleyTerryErrors(t *testing.T) {
	ab := []string{"A", "B"}
	tests := []struct {
		name    string
		models  []string
		battles []Battle
		want    error
	}{
		{"one model", []string{"A"}, nil, ErrNoPairable},
		{"no models", nil, nil, ErrNoPairable},
		{"repeated model", []string{"A", "B", "A"}, nil, ErrValue},
		{"unknown model", ab, []Battle{{"A", "C", AWins}}, ErrValue},
		{"self-battle", ab, []Battle{{"A", "A", AWins}}, ErrValue},
		{"zero outcome", ab, []Battle{{"A", "B", 0}}, ErrValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := BradleyTerry(tt.models, tt.battles); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	for name, w := range map[string][][]float64{
		"not square": {{0, 1}, {1}},
		"negative":   {{0, -1}, {1, 0}},
		"NaN":        {{0, nan}, {1, 0}},
	} {
		if _, _, err := BradleyTerryWins(w); err == nil {
			t.Errorf("BradleyTerryWins %s: no error", name)
		}
	}
	elo, status, err := BradleyTerryWins([][]float64{{0, 3}, {1, 0}})
	if err != nil || status[0] != Rated || math.Abs(elo[0]-elo[1]-400*math.Log10(3)) > 1e-9 {
		t.Errorf("BradleyTerryWins 3–1: %v %v %v", elo, status, err)
	}
	if _, _, err := BradleyTerryWins([][]float64{{0, 3}, {0, 0}}); !errors.Is(err, ErrNotEstimable) || !strings.Contains(err.Error(), "undefeated: 0") {
		t.Errorf("BradleyTerryWins 3–0: %v", err)
	}
}

func TestWinProbability(t *testing.T) {
	if p := WinProbability(1000, 1000); p != 0.5 {
		t.Errorf("equal ratings: %v", p)
	}
	if p := WinProbability(1400, 1000); math.Abs(p-10.0/11) > 1e-15 {
		t.Errorf("400 points up: %v, want 10/11", p)
	}
	if s := WinProbability(1234, 987) + WinProbability(987, 1234); math.Abs(s-1) > 1e-15 {
		t.Errorf("P(i>j) + P(j>i) = %v", s)
	}
}

func TestOnlineElo(t *testing.T) {
	got, err := OnlineElo([]string{"A", "B", "C"}, []Battle{{"A", "B", AWins}, {"B", "A", Tie}}, 4)
	if err != nil {
		t.Fatal(err)
	}
	// After the first battle A = 1002, B = 998; the tie moves 4·(0.5 − E).
	eB := 1 / (1 + math.Pow(10, (1002.0-998)/400))
	wantB := 998 + 4*(0.5-eB)
	if math.Abs(got[1]-wantB) > 1e-12 || math.Abs(got[0]+got[1]-2000) > 1e-12 || got[2] != 1000 {
		t.Errorf("OnlineElo = %v, want B = %v, A + B = 2000, C = 1000", got, wantB)
	}
	r := rand.New(rand.NewPCG(21, 22))
	models, bs := randomBattles(r, 7, 500)
	ratings, err := OnlineElo(models, bs, 32)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, v := range ratings {
		sum += v
	}
	if math.Abs(sum-1000*7) > 1e-9 {
		t.Errorf("ratings total %v, want 7000 (zero-sum updates)", sum)
	}
	for name, tt := range map[string]struct {
		models []string
		bs     []Battle
		k      float64
		want   error
	}{
		"zero K":        {[]string{"A", "B"}, nil, 0, ErrOption},
		"NaN K":         {[]string{"A", "B"}, nil, nan, ErrOption},
		"infinite K":    {[]string{"A", "B"}, nil, math.Inf(1), ErrOption},
		"unknown model": {[]string{"A", "B"}, []Battle{{"A", "Z", AWins}}, 4, ErrValue},
		"self-battle":   {[]string{"A", "B"}, []Battle{{"B", "B", AWins}}, 4, ErrValue},
		"bad outcome":   {[]string{"A", "B"}, []Battle{{"A", "B", Outcome(9)}}, 4, ErrValue},
		"repeat model":  {[]string{"A", "A"}, nil, 4, ErrValue},
	} {
		if _, err := OnlineElo(tt.models, tt.bs, tt.k); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tt.want)
		}
	}
}
