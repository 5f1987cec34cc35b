package attacks

import (
	"errors"
	"fmt"
	"math"
)

// Frequency is frequency analysis of the uploads: the non-special π-ids the client uploaded are ranked by how
// often they occur, the non-special public ids by their public counts (ties by ascending id), and each uploaded
// π-id is guessed as the k public ids whose ranks are nearest its own. π-ids with equal upload counts are
// indistinguishable to this attack and share their tie group's mid-rank (a tie group holding ranks a..b guesses
// around (a+b)/2). It reads neither table. Special rows are guessed as themselves; rows not uploaded get NoGuess.
func Frequency(pub Public, obs Observed, k int) (Guesses, error) {
	if err := checkK(k); err != nil {
		return Guesses{}, fmt.Errorf("frequency attack: %w", err)
	}
	if err := pub.validateObserved(obs, false); err != nil {
		return Guesses{}, fmt.Errorf("frequency attack: %w", err)
	}
	if pub.Counts == nil {
		return Guesses{}, errors.New("frequency attack: no public token counts")
	}
	special := pub.specialMask()
	g := newGuesses(pub.V, k)
	guessSpecialsAsThemselves(g, special)
	for _, m := range rankMatches(pub, obs.Uploads, special) {
		copy(g.Row(int(m.observed)), m.nearestPublic(k))
	}
	return g, nil
}

// rankMatch is one uploaded π-id with its (mid-)rank among the uploads and the public ranking it is matched to.
type rankMatch struct {
	observed int32
	count    int64   // occurrences in the uploads
	midRank  float64 // 0-based; ties share the middle of their ranks
	public   []int32 // non-special public ids, most frequent first
}

// nearestPublic lists the k public ids whose ranks are nearest the mid-rank (nearest first; equally near: the
// more frequent first).
func (m rankMatch) nearestPublic(k int) []int32 {
	n := len(m.public)
	out := make([]int32, 0, min(k, n))
	lo := int(math.Floor(m.midRank))
	hi := lo + 1
	lo = min(lo, n-1)
	for len(out) < k && (lo >= 0 || hi < n) {
		switch {
		case hi >= n || (lo >= 0 && m.midRank-float64(lo) <= float64(hi)-m.midRank):
			out = append(out, m.public[lo])
			lo--
		default:
			out = append(out, m.public[hi])
			hi++
		}
	}
	return out
}

// rankMatches ranks the uploaded non-special ids by upload count (most frequent first, ties by ascending id)
// against the public ranking.
func rankMatches(pub Public, uploads []int32, special []bool) []rankMatch {
	public := byCountDesc(nonSpecial(special), pub.Counts)
	counts := uploadCounts(uploads, pub.V)
	var seen []int32
	for id, c := range counts {
		if c > 0 && !special[id] {
			seen = append(seen, int32(id))
		}
	}
	seen = byCountDesc(seen, counts)
	out := make([]rankMatch, len(seen))
	for a := 0; a < len(seen); {
		b := a
		for b+1 < len(seen) && counts[seen[b+1]] == counts[seen[a]] {
			b++
		}
		mid := float64(a+b) / 2
		for r := a; r <= b; r++ {
			out[r] = rankMatch{observed: seen[r], count: counts[seen[r]], midRank: mid, public: public}
		}
		a = b + 1
	}
	return out
}
