package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Print writes the report as a table ("table") or JSON ("json").
func Print(w io.Writer, r *Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if r.Violations == nil {
			r.Violations = []Violation{}
		}
		return enc.Encode(r)
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "RULE\tDISK\tZONE\tNODE\tPODS\tDETAIL\n")
		for _, v := range r.Violations {
			node := v.Node
			if node == "" && len(v.Nodes) > 0 {
				node = fmt.Sprintf("%d nodes", len(v.Nodes))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Rule, dash(v.Disk), dash(v.Zone), dash(node), dash(strings.Join(v.Pods, ",")), v.Detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "%d violation(s); checked %d pod(s) with disk claims, %d shared disk(s) and %d single-attach disk(s) in use\n", len(r.Violations), r.Pods, r.SharedDisks, r.SingleAttachDisks)
		return err
	}
	return fmt.Errorf("unknown output format %q (want table or json)", format)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
