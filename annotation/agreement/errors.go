package agreement

import "errors"

// Sentinel errors. Functions wrap them with what was wrong and where (the
// coder, unit, index or model); test with errors.Is. A function that returns
// one of them returns NaN for any float result, so that an ignored error
// never passes for a real statistic.
var (
	// ErrLevel: the level of measurement is unset (the zero Level) or unknown.
	ErrLevel = errors.New("agreement: level of measurement not set or unknown")
	// ErrWeighting: the kappa weighting is unset (the zero Weighting) or unknown.
	ErrWeighting = errors.New("agreement: kappa weighting not set or unknown")
	// ErrOption: another argument is out of range (a confidence level, a
	// K factor, a number of resamples, a normalization…).
	ErrOption = errors.New("agreement: invalid option")
	// ErrLength: inputs that must line up do not (ragged rows, x and y of
	// different lengths, a weight per column missing).
	ErrLength = errors.New("agreement: mismatched lengths")
	// ErrValue: a value is not acceptable (±Inf, a negative count, a rating
	// outside the declared categories, a negative value at the ratio level,
	// an unknown battle outcome or model).
	ErrValue = errors.New("agreement: invalid value")
	// ErrNoPairable: there is nothing to compare (no unit with two values,
	// no complete pair, fewer than two observations).
	ErrNoPairable = errors.New("agreement: no pairable values")
	// ErrNoVariation: the data show no variation, so the statistic is
	// undefined (alpha's expected disagreement is 0, a variable is constant,
	// every rating falls in one category).
	ErrNoVariation = errors.New("agreement: no variation, statistic undefined")
	// ErrUnequalRaters: Fleiss' or Randolph's kappa got subjects rated by
	// different numbers of raters, for which they are not defined (use
	// Krippendorff's alpha when ratings are missing).
	ErrUnequalRaters = errors.New("agreement: subjects have unequal numbers of ratings")
	// ErrNotEstimable: the Bradley–Terry maximum-likelihood estimate does not
	// exist, because some captioner is undefeated, winless or unplayed, or
	// the comparison graph is otherwise not strongly connected.
	ErrNotEstimable = errors.New("agreement: Bradley-Terry ratings not estimable")
)
