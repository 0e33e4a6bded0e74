package web

import "strings"

// diffOp is one line of a line diff: kept (' '), removed ('-') or added ('+').
type diffOp struct {
	Op       byte
	Text     string
	Old, New int // 1-based line numbers; 0 where the line is not on that side
}

// Kind names the op for the template's classes.
func (d diffOp) Kind() string {
	switch d.Op {
	case '-':
		return "del"
	case '+':
		return "add"
	}
	return "same"
}

// maxDiffLines bounds the LCS table (lines × lines cells): flow files are
// small; beyond this the diff shows the whole old file removed and the new
// one added rather than spend quadratic memory on hostile input.
const maxDiffLines = 4000

// lineDiff is the line diff of a and b by longest common subsequence: the
// common prefix and suffix are kept as they are, the middle is diffed with
// the classic dynamic-programming table. Deletions come before additions
// at each change.
func lineDiff(a, b string) []diffOp {
	x, y := splitLines(a), splitLines(b)
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	var out []diffOp
	for i := 0; i < pre; i++ {
		out = append(out, diffOp{Op: ' ', Text: x[i], Old: i + 1, New: i + 1})
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]
	out = append(out, lcsDiff(mx, my, pre, pre)...)
	for i := 0; i < suf; i++ {
		oi, ni := len(x)-suf+i, len(y)-suf+i
		out = append(out, diffOp{Op: ' ', Text: x[oi], Old: oi + 1, New: ni + 1})
	}
	return out
}

// lcsDiff diffs the middle parts; ox and oy are their offsets in the files.
func lcsDiff(x, y []string, ox, oy int) []diffOp {
	var out []diffOp
	if len(x) > maxDiffLines || len(y) > maxDiffLines {
		for i, s := range x {
			out = append(out, diffOp{Op: '-', Text: s, Old: ox + i + 1})
		}
		for j, s := range y {
			out = append(out, diffOp{Op: '+', Text: s, New: oy + j + 1})
		}
		return out
	}
	// l[i][j] is the LCS length of x[i:] and y[j:].
	l := make([][]int, len(x)+1)
	for i := range l {
		l[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, diffOp{Op: ' ', Text: x[i], Old: ox + i + 1, New: oy + j + 1})
			i, j = i+1, j+1
		case j == len(y) || i < len(x) && l[i+1][j] >= l[i][j+1]:
			out = append(out, diffOp{Op: '-', Text: x[i], Old: ox + i + 1})
			i++
		default:
			out = append(out, diffOp{Op: '+', Text: y[j], New: oy + j + 1})
			j++
		}
	}
	return out
}

// splitLines splits a file into lines without their endings; a final
// newline does not make an empty last line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
