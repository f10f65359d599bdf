package inventory

import (
	"slices"
	"sort"
)

// accuracy counts, per sales channel, the positions a reconciliation compared and how many
// agreed with the source: the channel's sync accuracy. A position counts for every channel that
// sells from its location (a channel with no locations sells from all).
type accuracy struct {
	compared, agreed map[string]int
}

func newAccuracy() *accuracy { return &accuracy{compared: map[string]int{}, agreed: map[string]int{}} }

func (a *accuracy) add(cfg Config, loc string, agreed bool) {
	for name, ch := range cfg.Channels {
		if len(ch.Locations) > 0 && !slices.Contains(ch.Locations, loc) {
			continue
		}
		a.compared[name]++
		if agreed {
			a.agreed[name]++
		}
	}
}

// ratios are the channels' accuracies (channels with nothing compared left out), by name.
func (a *accuracy) ratios() map[string]float64 {
	out := map[string]float64{}
	names := make([]string, 0, len(a.compared))
	for n := range a.compared {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if a.compared[n] > 0 {
			out[n] = float64(a.agreed[n]) / float64(a.compared[n])
		}
	}
	return out
}
