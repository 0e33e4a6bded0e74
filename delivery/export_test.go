package delivery

import "context"

// Round is one round of the sender's single lane (the default sender):
// what it handled, and whether its loop would go on at once (more).
func (s *Sender) Round(ctx context.Context, limit int) (n int, more bool, err error) {
	defer s.inFlight.Wait()
	lanes := s.lanesOf()
	if len(lanes) != 1 {
		panic("Round: the sender has more than one lane")
	}
	return lanes[0].sendOnce(ctx, limit)
}
