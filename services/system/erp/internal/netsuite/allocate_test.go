package netsuite

import (
	"encoding/json"
	"testing"
)

// Request lines repeating a SKU share the RMA's lines instead of all landing on the first.
func TestAllocateAcrossRepeatedSKUs(t *testing.T) {
	t.Parallel()
	var rma transaction
	if err := json.Unmarshal([]byte(`{"id":"9","item":{"items":[
		{"line":1,"item":{"refName":"APP-1"},"quantity":1},
		{"line":2,"item":{"refName":"APP-1"},"quantity":1},
		{"line":3,"item":{"refName":"FTW-2"},"quantity":2}]}}`), &rma); err != nil {
		t.Fatal(err)
	}
	taken := map[int]int64{}
	a, ok1 := allocate(&rma, "APP-1", 1, taken)
	b, ok2 := allocate(&rma, "APP-1", 1, taken)
	_, ok3 := allocate(&rma, "APP-1", 1, taken)
	if !ok1 || !ok2 || len(a) != 1 || len(b) != 1 || a[0].line != 1 || b[0].line != 2 {
		t.Fatalf("two request lines of one SKU: %v %v (ok %v %v), want lines 1 and 2", a, b, ok1, ok2)
	}
	if ok3 {
		t.Error("a third unit of a SKU authorised twice was allocated")
	}
	c, ok := allocate(&rma, "FTW-2", 2, taken)
	if !ok || len(c) != 1 || c[0].quantity != 2 {
		t.Errorf("other SKU: %v %v", c, ok)
	}
}
