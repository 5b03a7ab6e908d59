package explain

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestReadClusterPaginates: every list asks for PageSize objects and follows
// the continue token; 1201 nodes take three requests.
func TestReadClusterPaginates(t *testing.T) {
	const nodes = 2*PageSize + 1
	c := fake.NewClientset()
	var requests []metav1.ListOptions
	c.PrependReactor("list", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		opts := a.(clienttesting.ListActionImpl).ListOptions
		if a.GetResource().Resource != "nodes" {
			if opts.Limit != PageSize {
				return true, nil, fmt.Errorf("list %s with limit %d, want %d", a.GetResource().Resource, opts.Limit, PageSize)
			}
			return false, nil, nil
		}
		requests = append(requests, opts)
		from := 0
		if opts.Continue != "" {
			var err error
			if from, err = strconv.Atoi(opts.Continue); err != nil {
				return true, nil, err
			}
		}
		list := &v1.NodeList{}
		for i := from; i < nodes && i < from+int(opts.Limit); i++ {
			list.Items = append(list.Items, v1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%04d", i)}})
		}
		if next := from + len(list.Items); next < nodes {
			list.Continue = strconv.Itoa(next)
		}
		return true, list, nil
	})
	s, err := ReadCluster(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != nodes || s.Nodes[nodes-1].Name != fmt.Sprintf("n%04d", nodes-1) {
		t.Errorf("read %d nodes, want %d", len(s.Nodes), nodes)
	}
	want := []metav1.ListOptions{{Limit: PageSize}, {Limit: PageSize, Continue: "500"}, {Limit: PageSize, Continue: "1000"}}
	if len(requests) != len(want) {
		t.Fatalf("%d node list requests %+v, want %d", len(requests), requests, len(want))
	}
	for i := range want {
		if requests[i].Limit != want[i].Limit || requests[i].Continue != want[i].Continue {
			t.Errorf("request %d: limit %d continue %q, want limit %d continue %q", i, requests[i].Limit, requests[i].Continue, want[i].Limit, want[i].Continue)
		}
	}
}

// TestWithoutPod leaves out only the named pod.
func TestWithoutPod(t *testing.T) {
	s := leaseCluster(t, 2, 1)
	out := WithoutPod(s, &s.Pods[1])
	if len(out.Pods) != 2 || out.Pods[0].Name != "lease-test-0" || out.Pods[1].Name != "lease-test-2" {
		t.Errorf("pods %v, want lease-test-0 and lease-test-2", names(out.Pods))
	}
	if len(s.Pods) != 3 {
		t.Errorf("the original state changed: %v", names(s.Pods))
	}
}

func names(pods []v1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}
