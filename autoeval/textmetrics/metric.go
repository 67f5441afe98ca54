package textmetrics

import (
	"errors"
	"fmt"
	"strings"
)

// Metric selects a family of scores.
type Metric string

// The metric families. Their scores carry pycocoevalcap's names.
const (
	BLEU  Metric = "bleu"  // Bleu_1, Bleu_2, Bleu_3, Bleu_4
	ROUGE Metric = "rouge" // ROUGE_L
	CIDEr Metric = "cider" // CIDEr (the CIDEr-D variant pycocoevalcap computes)
)

// AllMetrics lists every metric family in output order.
var AllMetrics = []Metric{BLEU, ROUGE, CIDEr}

// Score names, as pycocoevalcap and COCOEvalCap report them.
const (
	NameBleu1  = "Bleu_1"
	NameBleu2  = "Bleu_2"
	NameBleu3  = "Bleu_3"
	NameBleu4  = "Bleu_4"
	NameRougeL = "ROUGE_L"
	NameCIDEr  = "CIDEr"
)

// ErrUnknownMetric is returned for a metric name that is not provided.
var ErrUnknownMetric = errors.New("textmetrics: unknown metric")

// Names returns the score names the family produces.
func (m Metric) Names() []string {
	switch m {
	case BLEU:
		return []string{NameBleu1, NameBleu2, NameBleu3, NameBleu4}
	case ROUGE:
		return []string{NameRougeL}
	case CIDEr:
		return []string{NameCIDEr}
	}
	return nil
}

// ParseMetric accepts a family name (bleu, rouge, cider; also rouge_l,
// cider-d) in any case.
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "bleu":
		return BLEU, nil
	case "rouge", "rouge_l", "rouge-l":
		return ROUGE, nil
	case "cider", "cider-d", "cider_d":
		return CIDEr, nil
	}
	return "", fmt.Errorf("%w %q (known: bleu, rouge, cider)", ErrUnknownMetric, s)
}

// normalizeMetrics dedupes metrics and puts them in output order; none
// means all.
func normalizeMetrics(metrics []Metric) (bleu, rouge, cider bool, err error) {
	if len(metrics) == 0 {
		return true, true, true, nil
	}
	for _, m := range metrics {
		switch m {
		case BLEU:
			bleu = true
		case ROUGE:
			rouge = true
		case CIDEr:
			cider = true
		default:
			return false, false, false, fmt.Errorf("%w %q", ErrUnknownMetric, string(m))
		}
	}
	return bleu, rouge, cider, nil
}
