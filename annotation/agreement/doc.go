// Package agreement holds the pure statistics behind capeval's agreement
// dashboard and blended leaderboard. It does no I/O, keeps no global state
// and imports only the standard library, so that anyone can test it with
// plain values.
//
// What it holds:
//   - inter-annotator agreement: Krippendorff's alpha (Alpha, AlphaUnits) at
//     the nominal, ordinal, interval and ratio levels with missing data, and
//     from a weighted coincidence matrix (Coincidences), which makes a
//     bootstrap or a leave-one-out variant cost only the distinct units;
//     Fleiss' kappa (Fleiss) and Randolph's free-marginal kappa (Randolph)
//     on a subjects × categories count table (CountTable builds one);
//     Cohen's kappa, unweighted or with linear or quadratic weights (Cohen),
//     and the matrix of pairwise kappas between annotators (CohenMatrix);
//   - metric–human correlation: Pearson, Spearman (mid-ranks) and Kendall's
//     tau-b and tau-c (Kendall, KendallTauB, KendallTauC; O(n log n)), and
//     all four on a reweighted sample prepared once (Paired), which a
//     bootstrap of 250,000 pairs needs;
//   - pairwise preferences: the Bradley–Terry maximum-likelihood fit on the
//     Elo scale (BradleyTerry, BradleyTerryWins, WinMatrix, WinProbability),
//     the same with a covariate such as caption length (BradleyTerryStyle:
//     style control) and online Elo (OnlineElo);
//   - uncertainty: the percentile bootstrap (Bootstrap, BootstrapFrom,
//     Sampler), Hyndman–Fan type-7 quantiles (Quantile), percentile
//     intervals (CI, PercentileInterval, PercentileIntervals) and the
//     Chatbot Arena rank rule with rank ranges (RankByCI);
//   - blending: z-score, min–max and rank normalization (Normalize) and the
//     weighted blend of normalized columns (Blend).
//
// Conventions (those of ../shared/testdata/agreement/README.md, whose 59
// vectors the conformance test checks):
//   - NaN marks a missing value wherever a function takes ratings; ±Inf is
//     an error. Alpha ignores missing values, Cohen's kappa and the
//     correlations drop a pair listwise when either value is missing.
//   - Orientation is stated on every function. Alpha and CohenMatrix take
//     coders × units (a row per annotator, a column per item), as
//     krippendorff.alpha and R's irr::kripp.alpha do; Fleiss and Randolph
//     take subjects × categories counts.
//   - The level of measurement (Level) and the kappa weighting (Weighting)
//     are required typed arguments; their zero values are errors, never a
//     silent default.
//   - Ordinal alpha uses Krippendorff's rank-based metric built from the
//     frequencies of the pairable values, not squared rank differences.
//   - Cohen's weights are computed from positions in the ordered category
//     list the caller passes, not from the rating values, so an unused
//     category changes weighted kappa as the README requires.
//   - Bradley–Terry ratings are R_i = 1000 + 400·log10(π_i) with the mean
//     rating fixed at 1000 (Σ log π_i = 0) and no anchor model; ties count as
//     half a win to each side. When the maximum-likelihood estimate does not
//     exist (the "has beaten or tied" graph is not strongly connected) the
//     fit reports each captioner's status (undefeated, winless, unplayed…)
//     and NaN ratings, never a made-up finite number.
//   - Every statistic that is undefined on its input (no variation, nothing
//     pairable) returns NaN together with an error, never 0 or 1.
//   - Random draws come from a caller-supplied seed through PCG and an
//     explicit bounded-draw algorithm, so results do not change with the Go
//     release. The bootstrap resamples whatever units the caller indexes
//     (items, images, battles), replicate r from its own stream (seed, r).
//   - Cost (2-core VM, bench_test.go): alpha on 1,000 units × 5 coders
//     takes 0.12–0.23 ms at any level, except ratio on real-valued data
//     (15 ms: it sums over pairs of distinct values); 1,000 bootstrap
//     resamples of it take 0.2 s.
//
// Errors wrap the package's sentinels (ErrLevel, ErrLength, ErrNoPairable,
// ErrNoVariation, …) with the position of the problem; test with errors.Is.
package agreement
