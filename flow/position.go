package flow

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// sourceLines splits the file into lines of characters, without line ends.
func sourceLines(src []byte) [][]rune {
	parts := strings.Split(string(src), "\n")
	out := make([][]rune, len(parts))
	for i, l := range parts {
		out[i] = []rune(strings.TrimSuffix(l, "\r"))
	}
	return out
}

// valueOffset turns a position inside a value (1-based line, 0-based
// character column) into a character offset in the value.
func valueOffset(value string, line, col int) int {
	if line < 1 {
		return 0
	}
	off := 0
	lines := strings.Split(value, "\n")
	for i := 0; i < line-1 && i < len(lines); i++ {
		off += len([]rune(lines[i])) + 1
	}
	return off + max(col, 0)
}

// valuePos maps a character offset within the value of scalar n onto a
// 1-based line and column of the file. Plain and quoted scalars are mapped
// exactly on their lines (escapes and doubled single quotes count as one character, a line
// break as one); block scalars by line, skipping the block's indentation. When
// the mapping runs off the source it falls back to n's own position.
func (p *parser) valuePos(n *yaml.Node, offset int) (int, int) {
	if p.lines == nil {
		p.lines = sourceLines(p.src)
	}
	lines := p.lines
	if n.Line < 1 || n.Line > len(lines) || offset < 0 {
		return n.Line, n.Column
	}
	rest := offset
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		indent := -1
		for li := n.Line; li < len(lines); li++ {
			r := lines[li]
			if indent < 0 {
				if strings.TrimSpace(string(r)) == "" {
					rest--
					if rest < 0 {
						return li + 1, 1
					}
					continue
				}
				indent = leadingSpaces(r)
			}
			content := len(r) - min(indent, len(r))
			if rest <= content {
				return li + 1, indent + rest + 1
			}
			rest -= content + 1
		}
		return n.Line, n.Column
	}
	li, ci := n.Line-1, n.Column-1
	single := n.Style&yaml.SingleQuotedStyle != 0
	double := n.Style&yaml.DoubleQuotedStyle != 0
	if single || double {
		ci++
	}
	for li < len(lines) {
		r := lines[li]
		for ci < len(r) {
			if rest == 0 {
				return li + 1, ci + 1
			}
			switch {
			case double && r[ci] == '\\':
				ci += escapeLen(r[ci:])
			case single && r[ci] == '\'' && ci+1 < len(r) && r[ci+1] == '\'':
				ci += 2
			default:
				ci++
			}
			rest--
		}
		if rest == 0 {
			return li + 1, ci + 1
		}
		rest--
		li++
		if li >= len(lines) {
			break
		}
		ci = leadingSpaces(lines[li])
	}
	return n.Line, n.Column
}

// escapeLen is the length in the source of the double-quoted escape at r[0].
func escapeLen(r []rune) int {
	n := 2
	if len(r) > 1 {
		switch r[1] {
		case 'x':
			n = 4
		case 'u':
			n = 6
		case 'U':
			n = 10
		}
	}
	return min(n, len(r))
}

func leadingSpaces(r []rune) int {
	i := 0
	for i < len(r) && (r[i] == ' ' || r[i] == '\t') {
		i++
	}
	return i
}
