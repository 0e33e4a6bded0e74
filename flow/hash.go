package flow

import (
	"crypto/sha256"
	"encoding/hex"

	"gopkg.in/yaml.v3"
)

// canonicalHash hashes the canonical form of a parsed flow: the node tree
// re-marshalled with comments dropped and every style reset, so only values,
// their YAML types and key order count. It changes the tree; call it last.
func canonicalHash(root *yaml.Node) string {
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n.HeadComment, n.LineComment, n.FootComment = "", "", ""
		n.Style = 0
		n.Line, n.Column = 0, 0
		stack = append(stack, n.Content...)
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		// Cannot happen for a tree that parsed; hash the failure so the
		// result is still deterministic.
		out = []byte("unmarshalable: " + err.Error())
	}
	sum := sha256.Sum256(out)
	return hex.EncodeToString(sum[:])
}
