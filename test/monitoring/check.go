package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Severities an alert may have (the kubernetes-mixin's).
var severities = []string{"critical", "warning", "info"}

// Annotations every alert must have.
var requiredAnnotations = []string{"summary", "description", "runbook_url"}

// Grafana's built-in variables an expression may use, with the value they
// are replaced by for parsing.
var grafanaBuiltins = map[string]string{
	"__rate_interval": "5m",
	"__interval":      "1m",
	"__range":         "1h",
}

// DatasourceVariable is the dashboard variable every panel and query must
// take its data source from.
const datasourceVariable = "datasource"

// object is one Kubernetes object as generic YAML.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string {
	m, _ := o["metadata"].(map[string]any)
	s, _ := m["name"].(string)
	return s
}

// result is what check found.
type result struct {
	// metrics maps each metric name the expressions select to where.
	metrics map[string][]string
	// alerts are the alert names, in order.
	alerts []string
	// dashboards are the dashboards' titles.
	dashboards []string
	// serviceMonitors are the ServiceMonitors, decoded.
	serviceMonitors []*monitoringv1.ServiceMonitor
}

func (r *result) use(name, where string) {
	if !slices.Contains(r.metrics[name], where) {
		r.metrics[name] = append(r.metrics[name], where)
	}
}

var promql = parser.NewParser(parser.Options{})

// check checks the objects; the error lists every problem found.
func check(objs []object) (*result, error) {
	r := &result{metrics: map[string][]string{}}
	var errs []error
	for _, o := range objs {
		id := o.kind() + " " + o.name()
		var err error
		switch o.kind() {
		case "PrometheusRule":
			err = r.checkRule(o)
		case "ServiceMonitor":
			err = r.checkServiceMonitor(o)
		case "ConfigMap":
			err = r.checkConfigMap(o)
		default:
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// strict decodes o as T, failing on any field T does not have.
func strict[T any](o object) (*T, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *result) checkServiceMonitor(o object) error {
	sm, err := strict[monitoringv1.ServiceMonitor](o)
	if err != nil {
		return err
	}
	if len(sm.Spec.Endpoints) == 0 {
		return errors.New("no endpoints")
	}
	r.serviceMonitors = append(r.serviceMonitors, sm)
	return nil
}

func (r *result) checkRule(o object) error {
	pr, err := strict[monitoringv1.PrometheusRule](o)
	if err != nil {
		return err
	}
	if len(pr.Spec.Groups) == 0 {
		return errors.New("no rule groups")
	}
	// Prometheus' own rule file parser, strict about fields, on the spec as
	// written (the Operator writes it into a rule file as it is).
	spec, err := yaml.Marshal(o["spec"])
	if err != nil {
		return err
	}
	groups, errs := rulefmt.Parse(spec, false, model.LegacyValidation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		return fmt.Errorf("Prometheus' rule parser: %w", errors.Join(errs...))
	}
	for _, g := range groups.Groups {
		for _, rule := range g.Rules {
			where := "record " + rule.Record
			if rule.Alert != "" {
				where = "alert " + rule.Alert
				r.alerts = append(r.alerts, rule.Alert)
				errs = append(errs, checkAlert(rule)...)
			}
			expr, err := promql.ParseExpr(rule.Expr)
			if err != nil { // rulefmt parsed it already
				return err
			}
			if err := r.collect(expr, where); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
		}
	}
	return errors.Join(errs...)
}

// checkAlert holds an alert to the kubernetes-mixin style.
func checkAlert(rule rulefmt.Rule) []error {
	var errs []error
	if rule.For <= 0 {
		errs = append(errs, fmt.Errorf("alert %s: no for duration: one bad scrape would fire it", rule.Alert))
	}
	if s := rule.Labels["severity"]; !slices.Contains(severities, s) {
		errs = append(errs, fmt.Errorf("alert %s: severity label %q, want one of %s", rule.Alert, s, strings.Join(severities, ", ")))
	}
	for _, a := range requiredAnnotations {
		if strings.TrimSpace(rule.Annotations[a]) == "" {
			errs = append(errs, fmt.Errorf("alert %s: no %s annotation", rule.Alert, a))
		}
	}
	return errs
}

// collect records the metric names expr selects; a selector without a
// metric name is an error (it would match every metric).
func (r *result) collect(expr parser.Expr, where string) error {
	var errs []error
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name == "" {
			errs = append(errs, fmt.Errorf("selector %s names no metric", vs))
			return nil
		}
		r.use(name, where)
		return nil
	})
	return errors.Join(errs...)
}

func (r *result) checkConfigMap(o object) error {
	data, _ := o["data"].(map[string]any)
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(data)) {
		if !strings.HasSuffix(key, ".json") {
			continue
		}
		s, _ := data[key].(string)
		if err := r.checkDashboard([]byte(s)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// dashboard is what check reads of a Grafana dashboard.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	Title      string      `json:"title"`
	Type       string      `json:"type"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func (p panel) all() iter.Seq[panel] {
	return func(yield func(panel) bool) {
		if !yield(p) {
			return
		}
		for _, c := range p.Panels {
			for q := range c.all() {
				if !yield(q) {
					return
				}
			}
		}
	}
}

var grafanaVariable = regexp.MustCompile(`\$(?:\{(\w+)(?::\w+)?\}|(\w+))`)

// labelValues is a query variable's label_values(SELECTOR, LABEL).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

func (r *result) checkDashboard(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more after the dashboard's JSON object")
	}
	if d.Title == "" || d.UID == "" {
		return errors.New("the dashboard has no title or uid")
	}
	values := map[string]string{}
	maps.Copy(values, grafanaBuiltins)
	var errs []error
	var queries []string
	for _, v := range d.Templating.List {
		values[v.Name] = "value"
		switch v.Type {
		case "datasource":
			var q string
			if err := json.Unmarshal(v.Query, &q); err != nil || q != "prometheus" {
				errs = append(errs, fmt.Errorf("variable %s: query %s, want the data source type \"prometheus\"", v.Name, v.Query))
			}
		case "query":
			var q struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &q); err != nil {
				errs = append(errs, fmt.Errorf("variable %s: query %s: %w", v.Name, v.Query, err))
				continue
			}
			if !templated(v.Datasource) {
				errs = append(errs, fmt.Errorf("variable %s: data source %+v, want ${%s}", v.Name, v.Datasource, datasourceVariable))
			}
			m := labelValues.FindStringSubmatch(q.Query)
			if m == nil {
				errs = append(errs, fmt.Errorf("variable %s: query %q is not label_values(SELECTOR, LABEL)", v.Name, q.Query))
				continue
			}
			queries = append(queries, "variable "+v.Name+"\x00"+m[1])
		}
	}
	if _, ok := values[datasourceVariable]; !ok {
		errs = append(errs, fmt.Errorf("no %s variable: the dashboard must let users pick the Prometheus data source", datasourceVariable))
	}
	for _, top := range d.Panels {
		for p := range top.all() {
			if p.Type == "row" {
				continue
			}
			if !templated(p.Datasource) {
				errs = append(errs, fmt.Errorf("panel %q: data source %+v, want ${%s}", p.Title, p.Datasource, datasourceVariable))
			}
			if len(p.Targets) == 0 {
				errs = append(errs, fmt.Errorf("panel %q has no queries", p.Title))
			}
			for _, t := range p.Targets {
				if t.Datasource != nil && !templated(t.Datasource) {
					errs = append(errs, fmt.Errorf("panel %q: query data source %+v, want ${%s}", p.Title, t.Datasource, datasourceVariable))
				}
				queries = append(queries, "panel "+p.Title+"\x00"+t.Expr)
			}
		}
	}
	for _, q := range queries {
		what, text, _ := strings.Cut(q, "\x00")
		where := "dashboard " + d.Title + ", " + what
		expr, err := fillVariables(text, values)
		if err == nil {
			var e parser.Expr
			if e, err = promql.ParseExpr(expr); err == nil {
				err = r.collect(e, where)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: %w", what, text, err))
		}
	}
	r.dashboards = append(r.dashboards, d.Title)
	return errors.Join(errs...)
}

func templated(ds *datasource) bool {
	return ds != nil && ds.Type == "prometheus" && (ds.UID == "${"+datasourceVariable+"}" || ds.UID == "$"+datasourceVariable)
}

// fillVariables replaces Grafana variables by values PromQL can parse; a
// variable the dashboard does not define is an error.
func fillVariables(expr string, values map[string]string) (string, error) {
	var unknown []string
	out := grafanaVariable.ReplaceAllStringFunc(expr, func(v string) string {
		m := grafanaVariable.FindStringSubmatch(v)
		name := m[1] + m[2]
		value, ok := values[name]
		if !ok {
			unknown = append(unknown, "$"+name)
		}
		return value
	})
	if unknown != nil {
		return "", fmt.Errorf("undefined variable(s) %s", strings.Join(unknown, ", "))
	}
	return out, nil
}

// decodeObjects splits a YAML stream into objects; empty documents are
// skipped.
func decodeObjects(source string, data []byte) ([]object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []object
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		var o object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if len(o) > 0 {
			out = append(out, o)
		}
	}
}
