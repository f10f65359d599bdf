package demo

import (
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/state"
)

// storedDataset is a Dataset as its state file holds it: the exported data and the scenario
// names, from which the indexes are rebuilt.
type storedDataset struct {
	Now       time.Time         `json:"now"`
	Items     []Item            `json:"items"`
	Customers []Customer        `json:"customers"`
	Orders    []Order           `json:"orders"`
	Scenarios map[string]string `json:"scenarios"`
}

// Open returns the dataset kept in dir (dir/demo.json), generating it with Generate and keeping
// it there when there is none, so that every sandbox of a restarted stack is built from the
// world the first run generated — same orders, same dates — and not from a new one. An empty dir
// generates without keeping anything.
func Open(dir string, seed uint64, now time.Time, customers, orders int) (*Dataset, error) {
	f, err := state.Open(dir, "demo")
	if err != nil {
		return nil, err
	}
	var sd storedDataset
	found, err := f.Load(&sd)
	if err != nil {
		return nil, err
	}
	if found {
		return sd.dataset(), nil
	}
	d := Generate(seed, now, customers, orders)
	if err := f.Save(storedDataset{Now: d.Now, Items: d.Items, Customers: d.Customers, Orders: d.Orders, Scenarios: d.scenarios}); err != nil {
		return nil, err
	}
	return d, nil
}

func (sd storedDataset) dataset() *Dataset {
	d := &Dataset{Now: sd.Now, Items: sd.Items, Customers: sd.Customers, Orders: sd.Orders,
		itemBySKU: map[string]int{}, orderByID: map[string]int{}, scenarios: sd.Scenarios}
	if d.scenarios == nil {
		d.scenarios = map[string]string{}
	}
	for i, it := range d.Items {
		d.itemBySKU[it.SKU] = i
	}
	for i, o := range d.Orders {
		d.orderByID[o.ID] = i
	}
	return d
}

// From is the dataset a stack hands its sandboxes (vendors.SandboxDeps.Demo, typed any because
// pkg/ cannot name this package).
func From(v any) (*Dataset, error) {
	ds, ok := v.(*Dataset)
	if !ok || ds == nil {
		return nil, fmt.Errorf("demo: the sandboxes were given %T, not a *demo.Dataset", v)
	}
	return ds, nil
}
