package annotation

// Test hooks of the quality checks' pure parts.
var (
	GoldVerdict      = goldVerdict
	BinomialTwoSided = binomialTwoSided
	Wilson           = wilson
	ThroughputOf     = throughput
)
