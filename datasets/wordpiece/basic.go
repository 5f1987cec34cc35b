package wordpiece

import (
	"unicode"
	"unicode/utf8"
)

// scratch holds the buffers one tokenization call reuses.
type scratch struct {
	word []byte // the current whitespace-delimited word, cleaned
	norm []byte // the word lower-cased with accents stripped
	cont []byte // "##" + the rest of a piece, for continuation look-ups
	one  []byte // a lone CJK character
}

// Classes of ASCII bytes, following tokenization.py.
const (
	clsWord  = iota // letters, digits
	clsPunct        // _is_punctuation: 33-47, 58-64, 91-96, 123-126
	clsSpace        // _is_whitespace: ' ', \t, \n, \r
	clsDrop         // _is_control: other Cc, and NUL
)

var asciiClass = func() (c [utf8.RuneSelf]uint8) {
	for b := 0; b < utf8.RuneSelf; b++ {
		switch {
		case b == ' ' || b == '\t' || b == '\n' || b == '\r':
			c[b] = clsSpace
		case b < 32 || b == 127:
			c[b] = clsDrop
		case b >= 33 && b <= 47, b >= 58 && b <= 64, b >= 91 && b <= 96, b >= 123 && b <= 126:
			c[b] = clsPunct
		default:
			c[b] = clsWord
		}
	}
	return c
}()

// isChineseChar is tokenization.py's _is_chinese_char.
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// isSeparator reports whether a non-ASCII rune separates words: a Zs
// character (_is_whitespace), or U+2028/U+2029, which _clean_text keeps but
// Python's str.split splits on.
func isSeparator(r rune) bool {
	return r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Zs, r)
}

// isControl is tokenization.py's _is_control for non-ASCII runes.
func isControl(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)
}

// appendIDs is BasicTokenizer.tokenize followed by WordpieceTokenizer, the
// clean-text, CJK and whitespace steps done in one pass over text.
func (t *Tokenizer) appendIDs(dst []int32, text string, s *scratch) []int32 {
	word := s.word[:0]
	ascii := true
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			i++
			switch asciiClass[c] {
			case clsWord, clsPunct:
				word = append(word, c)
			case clsSpace:
				if len(word) > 0 {
					dst = t.appendWord(dst, word, ascii, s)
					word, ascii = word[:0], true
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		raw := text[i : i+size]
		i += size
		switch {
		case r == utf8.RuneError: // U+FFFD, or an invalid byte (Python decodes with "ignore")
		case isSeparator(r):
			if len(word) > 0 {
				dst = t.appendWord(dst, word, ascii, s)
				word, ascii = word[:0], true
			}
		case isChineseChar(r):
			if len(word) > 0 {
				dst = t.appendWord(dst, word, ascii, s)
				word, ascii = word[:0], true
			}
			s.one = append(s.one[:0], raw...)
			dst = t.appendWord(dst, s.one, false, s)
		case isControl(r):
		default:
			word = append(word, raw...)
			ascii = false
		}
	}
	if len(word) > 0 {
		dst = t.appendWord(dst, word, ascii, s)
	}
	s.word = word[:0]
	return dst
}

// appendWord lower-cases w, strips accents, splits it on punctuation and
// appends the wordpiece ids of each piece. An ASCII w is lower-cased in place.
func (t *Tokenizer) appendWord(dst []int32, w []byte, ascii bool, s *scratch) []int32 {
	var norm []byte
	if ascii {
		for i, c := range w {
			if c >= 'A' && c <= 'Z' {
				w[i] = c + ('a' - 'A')
			}
		}
		norm = w
	} else {
		norm = appendNormalized(s.norm[:0], w)
		s.norm = norm
	}
	start := 0
	for i := 0; i < len(norm); {
		var punct bool
		size := 1
		if c := norm[i]; c < utf8.RuneSelf {
			punct = asciiClass[c] == clsPunct
		} else {
			var r rune
			r, size = utf8.DecodeRune(norm[i:])
			punct = unicode.IsPunct(r)
		}
		if punct {
			if start < i {
				dst = t.appendPieces(dst, norm[start:i], s)
			}
			dst = t.appendPieces(dst, norm[i:i+size], s)
			start = i + size
		}
		i += size
	}
	if start < len(norm) {
		dst = t.appendPieces(dst, norm[start:], s)
	}
	return dst
}

// appendPieces is WordpieceTokenizer.tokenize for one basic token p:
// greedy longest-match-first, with [UNK] for the whole token when some part
// of it matches nothing or when it is longer than MaxInputCharsPerWord
// characters. Candidates are looked up as string(bytes), which the compiler
// does without allocating; they start no longer than the longest
// vocabulary entry.
func (t *Tokenizer) appendPieces(dst []int32, p []byte, s *scratch) []int32 {
	n := len(p)
	if n == 1 { // mostly punctuation
		if id := t.ascii[p[0]]; id >= 0 {
			return append(dst, id)
		}
		return append(dst, t.unk)
	}
	if n > MaxInputCharsPerWord && utf8.RuneCount(p) > MaxInputCharsPerWord {
		return append(dst, t.unk)
	}
	mark := len(dst)
	for start := 0; start < n; {
		// The candidate for p[start:end] is cand[:off+end].
		cand, off, limit := p, 0, t.maxPiece
		if start > 0 {
			cand = append(append(s.cont[:0], '#', '#'), p[start:]...)
			s.cont = cand
			off, limit = 2-start, t.maxCont
		}
		end := n
		if end-start > limit {
			end = start + limit
			for end > start && !utf8.RuneStart(p[end]) {
				end--
			}
		}
		found := false
		for end > start {
			if id, ok := t.vocab[string(cand[:off+end])]; ok {
				dst = append(dst, id)
				found = true
				break
			}
			end--
			for end > start && !utf8.RuneStart(p[end]) {
				end--
			}
		}
		if !found {
			return append(dst[:mark], t.unk)
		}
		start = end
	}
	return dst
}

// appendNormalized appends w lower-cased (Python's str.lower) with accents
// stripped (NFD, Mn characters dropped).
func appendNormalized(dst, w []byte) []byte {
	for i := 0; i < len(w); {
		c := w[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(w[i:])
		if r == 'Σ' {
			if finalSigma(w, i, i+size) {
				r = 'ς'
			} else {
				r = 'σ'
			}
		} else {
			r = unicode.ToLower(r)
		}
		i += size
		dst = appendStripped(dst, r)
	}
	return dst
}

// Hangul syllable decomposition constants (Unicode §3.12).
const (
	hangulSBase  = 0xAC00
	hangulLBase  = 0x1100
	hangulVBase  = 0x1161
	hangulTBase  = 0x11A7
	hangulTCount = 28
	hangulNCount = 21 * hangulTCount
	hangulSCount = 19 * hangulNCount
)

// appendStripped appends the NFD form of r without its Mn characters.
func appendStripped(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		return append(dst, byte(r))
	}
	if r >= hangulSBase && r < hangulSBase+hangulSCount {
		si := r - hangulSBase
		dst = utf8.AppendRune(dst, hangulLBase+si/hangulNCount)
		dst = utf8.AppendRune(dst, hangulVBase+(si%hangulNCount)/hangulTCount)
		if ti := si % hangulTCount; ti != 0 {
			dst = utf8.AppendRune(dst, hangulTBase+ti)
		}
		return dst
	}
	if r >= nfdKeys[0] && r <= nfdKeys[len(nfdKeys)-1] {
		lo, hi := 0, len(nfdKeys)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if nfdKeys[m] < r {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo < len(nfdKeys) && nfdKeys[lo] == r {
			return append(dst, nfdVals[lo]...)
		}
	}
	if unicode.Is(unicode.Mn, r) {
		return dst
	}
	return utf8.AppendRune(dst, r)
}

// finalSigma reports whether the capital sigma at w[i:j] is in the
// Final_Sigma context, as Python's str.lower decides it:
// \p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased}).
func finalSigma(w []byte, i, j int) bool {
	k := i
	var r rune
	for k > 0 {
		var size int
		r, size = utf8.DecodeLastRune(w[:k])
		k -= size
		if !isCaseIgnorable(r) {
			break
		}
	}
	if k == i || isCaseIgnorable(r) || !isCased(r) {
		return false
	}
	for k = j; k < len(w); {
		var size int
		r, size = utf8.DecodeRune(w[k:])
		k += size
		if !isCaseIgnorable(r) {
			return !isCased(r)
		}
	}
	return true
}

// isCased is Unicode's Cased property: Lu, Ll, Lt, Other_Lowercase,
// Other_Uppercase.
func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// isCaseIgnorable is Unicode's Case_Ignorable property: Mn, Me, Cf, Lm, Sk,
// and the Word_Break classes MidLetter, MidNumLet and Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case 0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019,
		0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
