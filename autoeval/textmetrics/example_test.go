package textmetrics_test

import (
	"fmt"

	"capeval/autoeval/textmetrics"
)

func ExampleTokenize() {
	fmt.Printf("%q\n", textmetrics.Tokenize(`A man's "selfie" near St. Mark's (Venice).`))
	// Output: ["a" "man" "'s" "selfie" "near" "st." "mark" "'s" "-lrb-" "venice" "-rrb-"]
}

func ExampleEvaluator() {
	ev := textmetrics.NewEvaluator(textmetrics.Options{})
	ev.Add("1", "A dog runs on the grass.", []string{"A dog running on grass.", "A brown dog in a field."})
	ev.Add("2", "Two cats sleeping on a sofa.", []string{"Two cats sleeping on a red sofa."})
	res, err := ev.Compute()
	if err != nil {
		fmt.Println(err)
		return
	}
	for j, name := range res.Names {
		fmt.Printf("%s %.4f\n", name, res.Corpus[j])
	}
	// Image 2: the longest common subsequence is the whole hypothesis, so
	// precision 1, recall 6/7.
	fmt.Printf("image %s ROUGE_L %.4f\n", res.ImageIDs[1], res.ImageScores(1)["ROUGE_L"])
	// Output:
	// Bleu_1 0.7667
	// Bleu_2 0.5939
	// Bleu_3 0.4955
	// Bleu_4 0.4395
	// ROUGE_L 0.8249
	// CIDEr 4.1915
	// image 2 ROUGE_L 0.9104
}

func ExampleReferenceSet() {
	// References are tokenized and indexed once; each model's captions are
	// then scored against them.
	rs := textmetrics.NewReferenceSet(textmetrics.Options{})
	rs.Add("1", []string{"A dog running on grass.", "A brown dog in a field."})
	rs.Add("2", []string{"Two cats sleeping on a red sofa."})
	models := map[string][]textmetrics.Hypothesis{
		"model-a": {{ImageID: "1", Caption: "a dog on grass"}, {ImageID: "2", Caption: "two cats on a sofa"}},
		"model-b": {{ImageID: "1", Caption: "a cat"}, {ImageID: "2", Caption: "a red sofa"}},
	}
	for _, name := range []string{"model-a", "model-b"} {
		res, err := rs.Score(models[name], textmetrics.CIDEr)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s CIDEr %.4f\n", name, res.Corpus[0])
	}
	// Output:
	// model-a CIDEr 2.4668
	// model-b CIDEr 1.6585
}
