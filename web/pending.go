package web

// What a page says while the numbers it shows are computed in the
// background (D92, D101). `smsflow bench ui` looks for these words to tell
// a page still computing from one showing its numbers, so the templates
// and the benchmark read them from here.
const (
	// FiguresPending is what the flows list says before its figures are in.
	FiguresPending = "the figures are being computed"
	// ProgramPending is what the program page says before its report is in.
	ProgramPending = "the numbers are being computed"
)
