package web

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/smsflow/smsflow/config"
	"github.com/smsflow/smsflow/engine"
	"github.com/smsflow/smsflow/examples"
	"github.com/smsflow/smsflow/flow"
)

// editorUI is a UI with a catalog and no database: enough for the
// editor's check, which reads neither.
func editorUI(tb testing.TB) *UI {
	tb.Helper()
	return &UI{Deps: Deps{Config: config.Default(), Catalog: engine.NewCatalog(nil)}}
}

// BenchmarkEditorCheck is the work of one pause in typing: validate a flow
// and preview its send steps — the bundled welcome flow, and a flow as
// large as a flow file may be (MaxFileSize) made of repeated send steps.
func BenchmarkEditorCheck(b *testing.B) {
	welcome, err := fs.ReadFile(examples.Flows(), "welcome.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var big strings.Builder
	big.WriteString("id: big\nname: Big\ncategory: promo\ntrigger:\n  event: Signed Up\nsteps:\n")
	for i := 0; big.Len() < 250<<10; i++ {
		fmt.Fprintf(&big, "  - id: s%d\n    send: \"Hi {{ contact.traits.first_name | default: \\\"there\\\" }}, offer %d is yours\"\n", i, i)
	}
	u := editorUI(b)
	for _, c := range []struct{ name, src string }{{"welcome", string(welcome)}, {"256KB", big.String()}} {
		b.Run(c.name, func(b *testing.B) {
			var last checks
			for b.Loop() {
				last = u.check("", c.src, sampleTraits())
			}
			b.ReportMetric(float64(len(last.Previews)), "previews")
			if last.Errors > 0 {
				b.Fatalf("%s: %d errors: %+v", c.name, last.Errors, last.Problems[0])
			}
		})
		// The validation alone, as PUT /v1/flows/{id} runs it: the
		// check's cost less this is the previews'.
		b.Run(c.name+"/validate-only", func(b *testing.B) {
			for b.Loop() {
				flow.Parse("x.yaml", []byte(c.src), engine.ValidateOptions())
			}
		})
	}
}

// TestEditorCheckPlacesProblemsAndPreviews: an error is reported at its
// line and column, a valid flow previews each send step with its measure,
// and the id may not change.
func TestEditorCheckPlacesProblemsAndPreviews(t *testing.T) {
	u := editorUI(t)
	src := "id: x\ncategory: service\ntrigger:\n  event: A\nsteps:\n  - id: hi\n    send: \"Olá {{ contact.traits.first_name | default: \\\"you\\\" }}\"\n  - wait: 2x\n"
	c := u.check("x", src, sampleTraits())
	if c.Errors != 1 || c.Problems[len(c.Problems)-1].Line != 8 || c.Problems[len(c.Problems)-1].Col != 11 {
		t.Fatalf("problems %+v, want one error at 8:11", c.Problems)
	}
	c = u.check("x", strings.Replace(src, "2x", "2h", 1), []trait{{Key: "first_name", Value: "Zoë"}})
	if c.Errors != 0 || len(c.Previews) != 1 {
		t.Fatalf("a valid flow: %d errors, %d previews; want 0 and 1", c.Errors, len(c.Previews))
	}
	p := c.Previews[0]
	var text strings.Builder
	var bad []string
	for _, pc := range p.Pieces {
		text.WriteString(pc.Text)
		if pc.NonGSM {
			bad = append(bad, pc.Text)
		}
	}
	if text.String() != "Olá Zoë" || p.Encoding != "UCS-2" || p.Segments != 1 || p.Characters != 7 || strings.Join(bad, "") != "áë" || p.FooterAdded != "" {
		t.Errorf("preview %q %s %d chars %d segments, non-GSM %v, footer %q; want \"Olá Zoë\" UCS-2, 7, 1, [á ë], none for a service flow",
			text.String(), p.Encoding, p.Characters, p.Segments, bad, p.FooterAdded)
	}
	c = u.check("y", strings.Replace(src, "2x", "2h", 1), nil)
	if c.Errors != 1 || c.Problems[0].Severity != "error" || !strings.Contains(c.Problems[0].Message, "does not match") || c.Problems[0].Line != 1 {
		t.Errorf("a changed id: %+v, want one error at line 1", c.Problems)
	}
}

// TestEditorPreviewEscapesTraits: a trait typed on the page is text in the
// preview, never markup.
func TestEditorPreviewEscapesTraits(t *testing.T) {
	u := New(Deps{Config: config.Default(), Catalog: engine.NewCatalog(nil)})
	src := "id: x\ncategory: service\ntrigger:\n  event: A\nsteps:\n  - id: hi\n    send: \"Hi {{ contact.traits.first_name | default: \\\"you\\\" }}\"\n"
	d := editorData{ID: "x", Checks: u.check("x", src, []trait{{Key: "first_name", Value: `<img src=x onerror=alert(1)>`}})}
	tmpl, err := u.page("editor")
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := tmpl.ExecuteTemplate(&buf, "checks", d); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "<img") || !strings.Contains(out, "Hi &lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the preview of an HTML trait is not escaped text:\n%s", out)
	}
}
