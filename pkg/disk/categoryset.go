package disk

// Names returns the categories in the set, in the driver's order.
func (s CategorySet) Names() []string {
	var out []string
	for i, c := range knownCategories {
		if s&(1<<i) != 0 {
			out = append(out, c)
		}
	}
	return out
}
