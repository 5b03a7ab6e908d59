package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The kustomize component holds the monitoring objects as files; the Helm
// chart renders the same ones (test/install compares them).
var componentDir = filepath.Join("..", "..", "deploy", "kustomize", "components", "monitoring")

// componentObjects reads the component's PrometheusRule and ServiceMonitor,
// and its dashboard in the ConfigMap its configMapGenerator makes.
func componentObjects(t *testing.T) []object {
	t.Helper()
	var objs []object
	for _, f := range []string{"prometheusrule.yaml", "servicemonitor.yaml"} {
		data, err := os.ReadFile(filepath.Join(componentDir, f))
		if err != nil {
			t.Fatal(err)
		}
		o, err := decodeObjects(f, data)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o...)
	}
	dash, err := os.ReadFile(filepath.Join(componentDir, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	return append(objs, object{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "volume-topology-scheduler-dashboard"},
		"data":     map[string]any{"volume-topology-scheduler.json": string(dash)},
	})
}

// TestComponent checks the shipped objects, and that the README's
// "Operating it" section documents exactly the alerts there are, under the
// headings their runbook_url annotations point at.
func TestComponent(t *testing.T) {
	objs := componentObjects(t)
	r, err := check(objs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.dashboards, []string{"volume-topology-scheduler"}) {
		t.Errorf("dashboards %v, want [volume-topology-scheduler]", r.dashboards)
	}
	if len(r.serviceMonitors) != 1 || r.serviceMonitors[0].Spec.Endpoints[0].Port != "https-metrics" {
		t.Errorf("want one ServiceMonitor scraping the port https-metrics, got %+v", r.serviceMonitors)
	}
	// Our own metric is both alerted on and shown.
	var alerted, shown bool
	for _, where := range r.metrics["volume_topology_rejected_nodes_total"] {
		alerted = alerted || strings.HasPrefix(where, "alert ")
		shown = shown || strings.HasPrefix(where, "dashboard ")
	}
	if !alerted || !shown {
		t.Errorf("volume_topology_rejected_nodes_total is used in %v; want an alert and the dashboard", r.metrics["volume_topology_rejected_nodes_total"])
	}

	documented := readmeAlerts(t)
	if !slices.Equal(slices.Sorted(slices.Values(r.alerts)), slices.Sorted(slices.Values(documented))) {
		t.Errorf("the PrometheusRule has the alerts %v;\nthe README's Operating it / Alerts section documents %v", r.alerts, documented)
	}
	rules := objs[0]
	for _, g := range rules["spec"].(map[string]any)["groups"].([]any) {
		for _, rule := range g.(map[string]any)["rules"].([]any) {
			rule := rule.(map[string]any)
			url := rule["annotations"].(map[string]any)["runbook_url"].(string)
			if want := "https://github.com/volume-topology/volume-topology-scheduler/blob/main/README.md#" + anchor(rule["alert"].(string)); url != want {
				t.Errorf("alert %s: runbook_url %s, want %s", rule["alert"], url, want)
			}
		}
	}
}

// readmeAlerts are the #### headings of the README's "## Operating it",
// "### Alerts" section.
func readmeAlerts(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Operating it\n")
	if !ok {
		t.Fatal("README.md has no section ## Operating it")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, alerts, ok := strings.Cut(section, "\n### Alerts\n")
	if !ok {
		t.Fatal("README.md's Operating it has no ### Alerts")
	}
	alerts, _, _ = strings.Cut(alerts, "\n### ")
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^#### (\S+)$`).FindAllStringSubmatch(alerts, -1) {
		names = append(names, m[1])
	}
	return names
}

// anchor is GitHub's anchor of a heading.
func anchor(heading string) string {
	s := strings.ToLower(heading)
	s = regexp.MustCompile(`[^a-z0-9 _-]`).ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

// TestCheckRefuses: each broken variant of the shipped objects fails with an
// error that says what is wrong.
func TestCheckRefuses(t *testing.T) {
	firstRule := func(objs []object) map[string]any {
		return objs[0]["spec"].(map[string]any)["groups"].([]any)[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
	}
	editDashboard := func(edit func(d map[string]any)) func([]object) {
		return func(objs []object) {
			data := objs[2]["data"].(map[string]any)
			var d map[string]any
			if err := json.Unmarshal([]byte(data["volume-topology-scheduler.json"].(string)), &d); err != nil {
				t.Fatal(err)
			}
			edit(d)
			out, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			data["volume-topology-scheduler.json"] = string(out)
		}
	}
	firstTarget := func(d map[string]any) map[string]any {
		for _, p := range d["panels"].([]any) {
			if ts, ok := p.(map[string]any)["targets"].([]any); ok {
				return ts[0].(map[string]any)
			}
		}
		t.Fatal("no panel with targets")
		return nil
	}
	for _, tc := range []struct {
		name string
		edit func([]object)
		want string
	}{
		{"expression does not parse", func(o []object) { firstRule(o)["expr"] = "sum(rate(up[5m])" }, "could not parse expression"},
		{"no for", func(o []object) { delete(firstRule(o), "for") }, "no for duration"},
		{"severity", func(o []object) { firstRule(o)["labels"].(map[string]any)["severity"] = "page" }, `severity label "page"`},
		{"no runbook_url", func(o []object) { delete(firstRule(o)["annotations"].(map[string]any), "runbook_url") }, "no runbook_url annotation"},
		{"unknown rule field", func(o []object) { firstRule(o)["expresion"] = "up" }, `unknown field "expresion"`},
		{"annotation template", func(o []object) { firstRule(o)["annotations"].(map[string]any)["summary"] = "{{ $labels.zone " }, "summary"},
		{"selector without a metric name", func(o []object) { firstRule(o)["expr"] = `absent({job="x"})` }, "names no metric"},
		{"ServiceMonitor field", func(o []object) {
			o[1]["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)["bearerTokenFil"] = "x"
		}, `unknown field "bearerTokenFil"`},
		{"dashboard not JSON", func(o []object) { o[2]["data"].(map[string]any)["volume-topology-scheduler.json"] = "{" }, "not JSON"},
		{"undefined dashboard variable", editDashboard(func(d map[string]any) {
			firstTarget(d)["expr"] = `sum(up{cluster="$cluster"})`
		}), "undefined variable(s) $cluster"},
		{"dashboard expression does not parse", editDashboard(func(d map[string]any) { firstTarget(d)["expr"] = "sum(up" }), "unclosed left parenthesis"},
		{"fixed data source", editDashboard(func(d map[string]any) {
			for _, p := range d["panels"].([]any) {
				if p.(map[string]any)["type"] != "row" {
					p.(map[string]any)["datasource"] = map[string]any{"type": "prometheus", "uid": "prometheus"}
					return
				}
			}
		}), "want ${datasource}"},
		{"no data source variable", editDashboard(func(d map[string]any) {
			vars := d["templating"].(map[string]any)["list"].([]any)
			d["templating"].(map[string]any)["list"] = vars[1:]
		}), "no datasource variable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := componentObjects(t)
			tc.edit(objs)
			_, err := check(objs)
			if err == nil {
				t.Fatalf("check passed, want an error mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}
