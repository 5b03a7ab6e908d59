package localcluster

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	restclient "k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// AuthorizationFlags turn on the authorizers a production API server runs
// (Node and RBAC) instead of the test server's AlwaysAllow, so that a client
// with a service account's credentials gets exactly what its roles grant. The
// loopback user (Cluster.Client) is in system:masters and may still do
// anything.
var AuthorizationFlags = []string{"--authorization-mode=Node,RBAC"}

// ServiceAccountUser is the user name a service account authenticates as.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ServiceAccountConfig mints a token for an existing service account with
// the TokenRequest API (as the kubelet does for a pod's projected token) and
// returns a client configuration that authenticates with it and nothing
// else. The token is valid for validity (at least ten minutes).
func (c *Cluster) ServiceAccountConfig(ctx context.Context, namespace, name string, validity time.Duration) (*restclient.Config, error) {
	validity = max(validity, 10*time.Minute)
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(validity / time.Second))},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("requesting a token for service account %s/%s: %w", namespace, name, err)
	}
	cfg := restclient.AnonymousClientConfig(c.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg, nil
}

// ServiceAccountKubeconfig writes a kubeconfig at path for the service
// account (see ServiceAccountConfig), for schedulers and kubectl.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, namespace, name, path string, validity time.Duration) error {
	cfg, err := c.ServiceAccountConfig(ctx, namespace, name, validity)
	if err != nil {
		return err
	}
	return WriteKubeconfig(path, cfg)
}
