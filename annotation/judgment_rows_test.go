package annotation

import (
	"cmp"
	"slices"

	"capeval/models"
)

// judgmentRows are the rows of a campaign that tests and benchmarks build
// judgments from, in any order: build feeds them to a judgmentBuilder in
// the order the store streams them.
type judgmentRows struct {
	campaign   *models.Campaign
	rubric     Rubric
	captioners []models.CaptionerSummary
	images     []models.Image
	captions   []models.Caption
	judged     []models.JudgedCaption
	ratings    []models.JudgmentRating
	scores     []models.CaptionScoreRow
	adjudged   []models.Adjudication
	users      map[int64]UserRef
	excluded   []int64
	tokens     func(string) int
	lengthUnit string
}

func (rows *judgmentRows) build() (*judgments, error) {
	b := newJudgmentBuilder(rows.campaign, rows.rubric, rows.captioners, rows.images, rows.excluded, rows.tokens, rows.lengthUnit)
	for _, c := range rows.captions {
		b.addCaption(c)
	}
	links := slices.Clone(rows.judged)
	slices.SortStableFunc(links, func(x, y models.JudgedCaption) int {
		return cmp.Or(cmp.Compare(x.TaskID, y.TaskID), cmp.Compare(x.Side, y.Side), cmp.Compare(x.CaptionID, y.CaptionID))
	})
	for _, l := range links {
		b.addLink(l)
	}
	ratings := slices.Clone(rows.ratings)
	slices.SortFunc(ratings, func(x, y models.JudgmentRating) int {
		return cmp.Or(cmp.Compare(x.TaskID, y.TaskID), cmp.Compare(x.ID, y.ID))
	})
	for _, r := range ratings {
		if err := b.addRating(r); err != nil {
			return nil, err
		}
	}
	for _, s := range rows.scores {
		b.addScore(s)
	}
	return b.finish(rows.users, rows.adjudged), nil
}
