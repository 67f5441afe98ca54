package textmetrics

// Word lists of the PTB lexer's abbreviation, acronym and file-name
// classes. They are the lexer's own lists (induced by hand from the 1987
// WSJ by its authors), not a list of test cases: a word outside them keeps
// no period, whatever the caption.

// abbrevList marks which abbreviation classes a word belongs to.
type abbrevList uint8

const (
	// inAbbrev1 are abbreviations usually followed by a lower-case word:
	// months, days, states, company suffixes, etc., al., seq. They keep
	// their period anywhere.
	inAbbrev1 abbrevList = 1 << iota
	// inAbbrev4 are titles and other abbreviations usually followed by a
	// capitalized name (ABBREV2 = ABBREV4 and a period); they keep it too.
	inAbbrev4
	// inAbbrev3 keep their period only before a number: "no. 5",
	// "fig. 3", "pp. 44". Elsewhere "no." is the word "no" and a period.
	inAbbrev3
)

// abbrevCase says how an abbreviation's letters compare. The scanner is
// caseless, but a letter the lexer wrote as a character class ([M]iss)
// must match exactly, which keeps common words (miss, wash, ill, la) from
// passing for state names when they are not capitalized.
type abbrevCase uint8

const (
	anyCase      abbrevCase = iota
	upperInitial            // first letter must be upper case: [M]ass, [W]ash
	lowerExact              // the whole word must be lower case: [v]
	lowerClass              // Pp?t[ye]s?, M[ft]g: the bracketed letter must be lower case
)

type abbrevInfo struct {
	lists abbrevList
	cas   abbrevCase
	class int // index of the lower-case class letter, for lowerClass
}

// abbrevs maps a lower-cased abbreviation (without its period) to its
// classes.
var abbrevs = buildAbbrevs()

func buildAbbrevs() map[string]abbrevInfo {
	m := make(map[string]abbrevInfo)
	add := func(list abbrevList, cas abbrevCase, class int, words ...string) {
		for _, w := range words {
			info := m[w]
			info.lists |= list
			info.cas = cas
			info.class = class
			m[w] = info
		}
	}
	// ABBREV1: months, days (not Sat. or Sun., too often words), states,
	// companies, number words, post-name titles.
	add(inAbbrev1, anyCase, 0, "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
		"mon", "tue", "tues", "wed", "thu", "thurs", "fri",
		"ala", "ariz", "calif", "colo", "conn", "ct", "dak", "fla", "ga", "ind", "kan", "kans", "ky", "md",
		"mich", "minn", "mo", "mont", "neb", "nev", "okla", "penn", "tenn", "va", "vt", "wis", "wisc", "wyo",
		"inc", "co", "cos", "corp", "ltd", "plc", "rt", "bancorp", "bhd", "assn", "univ", "intl", "sys",
		"tel", "est", "ext", "sq", "jr", "sr", "bros", "blvd", "rd", "esq", "etc", "al", "seq", "bldg")
	add(inAbbrev1, upperInitial, 0, "az", "ark", "del", "ill", "la", "mass", "miss", "ore", "pa", "tex", "wash")
	add(inAbbrev1, lowerClass, 2, "pty", "pte", "ptys", "ptes")
	add(inAbbrev1, lowerClass, 3, "ppty", "ppte", "pptys", "pptes")
	// ABBREV4: titles (Mt and Ft for mountains and forts), and others
	// usually followed by a name.
	add(inAbbrev4, anyCase, 0, "mr", "mrs", "ms", "dr", "drs", "prof", "profs", "sen", "sens", "rep", "reps",
		"atty", "attys", "lt", "col", "gen", "messrs", "gov", "govs", "adm", "rev", "maj", "sgt", "cpl", "pvt",
		"capt", "st", "ste", "ave", "pres", "lieut", "hon", "brig", "cmdr", "comdr", "pfc", "spc", "supt",
		"supts", "det", "mt", "ft", "adj", "adv", "asst", "assoc", "ens", "insp", "mlle", "mme", "msgr", "sfc",
		"vs", "alex", "wm", "jos", "cie", "cf", "treas", "ph", "invt", "elec", "natl", "dept")
	add(inAbbrev4, lowerExact, 0, "v")
	add(inAbbrev4, lowerClass, 1, "mfg", "mtg")
	// "Miss." is both a state and a title.
	miss := m["miss"]
	miss.lists |= inAbbrev4
	m["miss"] = miss
	// ABBREV3: only before a number.
	add(inAbbrev3, anyCase, 0, "ca", "fig", "figs", "prop", "no", "nos", "art", "bldg", "pp", "op")
	return m
}

// abbrevMatches reports whether word (letters as written) passes the case
// rule of info.
func abbrevMatches(word string, info abbrevInfo) bool {
	switch info.cas {
	case upperInitial:
		return isASCIIUpper(word[0])
	case lowerExact:
		for i := 0; i < len(word); i++ {
			if isASCIIUpper(word[i]) {
				return false
			}
		}
	case lowerClass:
		return !isASCIIUpper(word[info.class])
	}
	return true
}

// lookupAbbrev returns the abbreviation classes of the ASCII letters
// s[i:e]; 0 when the word is in none.
func lookupAbbrev(s string, i, e int) abbrevList {
	n := e - i
	if n == 0 || n > 7 {
		return 0
	}
	var buf [7]byte
	for k := 0; k < n; k++ {
		buf[k] = s[i+k] | 0x20
	}
	info, ok := abbrevs[string(buf[:n])]
	if !ok || !abbrevMatches(s[i:e], info) {
		return 0
	}
	return info.lists
}

// sentenceStarters are the words after which a one-letter acronym ("I.",
// "C.") ends its sentence: "vitamin C. The ..." is "c" and a period, not
// "c.". Their first letter must be upper case; the rest compare in any
// case. (Mr. and Ms. are listed with their periods; an SGML tag counts
// too.) Words that often start a sentence but are not listed (Two, Those,
// Their, His) leave the acronym whole.
var sentenceStarters = []string{
	"About", "According", "Additionally", "After", "An", "A", "As", "At", "But", "Earlier", "He", "Her",
	"Here", "However", "If", "In", "It", "Last", "Many", "More", "Mr.", "Ms.", "Now", "Once", "One",
	"Other", "Our", "She", "Since", "So", "Some", "Such", "That", "The", "Then", "There", "These",
	"They", "This", "We", "When", "While", "What", "Yet", "You",
}

// fileExts are the extensions of FILENAME.
var fileExts = []string{
	"bat", "bmp", "c", "class", "cgi", "cpp", "dll", "doc", "docx", "exe", "gif", "gz", "h", "htm",
	"html", "jar", "java", "jpeg", "jpg", "mov", "mp3", "pdf", "php", "pl", "png", "ppt", "ps", "py",
	"sql", "tar", "txt", "wav", "x", "xml", "zip",
}
