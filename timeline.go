package smsflow

import (
	"sort"
	"time"
)

// TimelineItem is one entry of a contact's timeline: an event, a consent
// change and, as the engine grows, messages and decisions.
type TimelineItem struct {
	Type      string         `json:"type"` // "event", "consent", later "message", "decision"
	Name      string         `json:"name"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
	seq       int
}

// SortTimeline orders items oldest first; items at the same instant keep the
// order they were given in.
func SortTimeline(items []TimelineItem) {
	for i := range items {
		items[i].seq = i
	}
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].Timestamp.Equal(items[j].Timestamp) {
			return items[i].Timestamp.Before(items[j].Timestamp)
		}
		return items[i].seq < items[j].seq
	})
}
