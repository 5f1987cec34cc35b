package wordpiece

import "fmt"

// Encoding is a model input: [CLS] a [SEP], or [CLS] a [SEP] b [SEP] for a
// pair, padded with [PAD] to the requested length.
type Encoding struct {
	IDs      []int32 // token ids
	Segments []int32 // 0 for [CLS] a [SEP] and padding, 1 for b [SEP]
	Mask     []int32 // 1 for real tokens (specials included), 0 for padding
	// Truncated is true when tokens of a or b were dropped to fit maxLen.
	Truncated bool
}

// Encode tokenizes textA (and textB, unless it is "") and lays them out as
// EncodeIDs does. As in BERT's run_classifier.py, a textB that yields no
// tokens gives the single-sentence layout.
func (t *Tokenizer) Encode(textA, textB string, maxLen int) Encoding {
	s := t.pool.Get().(*scratch)
	defer t.pool.Put(s)
	a := t.appendIDs(make([]int32, 0, len(textA)/4+4), textA, s)
	var b []int32
	if textB != "" {
		b = t.appendIDs(make([]int32, 0, len(textB)/4+4), textB, s)
	}
	return t.EncodeIDs(a, b, maxLen)
}

// EncodeIDs lays out pre-tokenized ids (without specials) as
// [CLS] a [SEP] when b is empty (nil), else [CLS] a [SEP] b [SEP], exactly as
// BERT's run_classifier.py convert_single_example does:
//
//   - a pair longer than maxLen-3 tokens is cut with _truncate_seq_pair:
//     one token at a time is removed from the end of the longer sequence,
//     from b when both are as long; a single sequence keeps its first
//     maxLen-2 tokens;
//   - the result is padded with [PAD] (segment 0, mask 0) to maxLen.
//
// maxLen <= 0 means no truncation and no padding. A positive maxLen below 2
// (3 for a pair) leaves no room for the special tokens and panics. One
// deliberate difference from run_classifier.py: when maxLen is 3 or 4 and
// truncation empties b, a pair keeps its closing [SEP] (BERT would then lay
// it out as a single sentence).
// a and b are not modified; the returned slices are new.
func (t *Tokenizer) EncodeIDs(a, b []int32, maxLen int) Encoding {
	pair := len(b) > 0
	la, lb := len(a), len(b)
	truncated := false
	if maxLen > 0 {
		if pair {
			if maxLen < 3 {
				panic(fmt.Sprintf("wordpiece: EncodeIDs: maxLen %d leaves no room for [CLS] a [SEP] b [SEP]", maxLen))
			}
			for la+lb > maxLen-3 {
				if la > lb {
					la--
				} else {
					lb--
				}
				truncated = true
			}
		} else {
			if maxLen < 2 {
				panic(fmt.Sprintf("wordpiece: EncodeIDs: maxLen %d leaves no room for [CLS] a [SEP]", maxLen))
			}
			if la > maxLen-2 {
				la = maxLen - 2
				truncated = true
			}
		}
	}
	n := la + 2
	if pair {
		n += lb + 1
	}
	size := n
	if maxLen > 0 {
		size = maxLen
	}
	buf := make([]int32, 3*size)
	e := Encoding{
		IDs:       buf[:size:size],
		Segments:  buf[size : 2*size : 2*size],
		Mask:      buf[2*size:],
		Truncated: truncated,
	}
	ids := e.IDs[:0]
	ids = append(ids, t.cls)
	ids = append(ids, a[:la]...)
	ids = append(ids, t.sep)
	if pair {
		ids = append(ids, b[:lb]...)
		ids = append(ids, t.sep)
		for i := la + 2; i < n; i++ {
			e.Segments[i] = 1
		}
	}
	for i := n; i < size; i++ {
		e.IDs[i] = t.pad
	}
	for i := 0; i < n; i++ {
		e.Mask[i] = 1
	}
	return e
}
