package localcluster

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/apiserver/pkg/storage/storagebackend"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
	"k8s.io/kubernetes/test/utils/ktesting"
)

// defaultAPIServerFlags are the flags scheduler_perf uses: nodes are created
// Ready and untainted, service accounts are not required, and no endpoint
// reconciler runs.
var defaultAPIServerFlags = []string{
	"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
	"--endpoint-reconciler-type=none",
}

// shutdownTimeout is the API server's request timeout, and so the longest it
// waits for open requests when it stops.
const shutdownTimeout = 15 * time.Second

// apiServer is a kube-apiserver running in this process.
type apiServer struct {
	server *kubeapiservertesting.TestServer
	tb     *logTB
}

// startAPIServer starts kube-apiserver in-process on a free loopback port,
// storing into the etcd at etcdURL. It runs until stop is called or ctx ends.
func startAPIServer(ctx context.Context, etcdURL string, extraFlags []string) (_ *apiServer, err error) {
	logger := klog.FromContext(ctx)
	tb := newLogTB("kube-apiserver", logger)
	// The test server cancels this context when it is torn down; InitCtx
	// keeps our logger instead of building a per-test one.
	tCtx := withCancel(ktesting.InitCtx(ctx, tb))

	storage := storagebackend.NewDefaultConfig("/registry", nil)
	storage.Transport.ServerList = []string{etcdURL}

	flags := append(append([]string{}, defaultAPIServerFlags...), extraFlags...)
	opts := kubeapiservertesting.NewDefaultTestServerOptions()
	// Clients authenticate with the loopback token; client certificates and
	// the front proxy are not needed.
	opts.EnableCertAuth = false
	// The server waits this long for open requests (watches of clients that
	// outlive it) when it shuts down; a minute is too long for a local cluster.
	opts.RequestTimeout = shutdownTimeout

	defer func() {
		if err != nil {
			tb.runCleanups()
		}
	}()
	defer recoverFatal(&err)
	server, err := kubeapiservertesting.StartTestServer(tCtx, opts, flags, storage)
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver: %w", err)
	}
	return &apiServer{server: &server, tb: tb}, nil
}

// config returns a copy of the client configuration of the loopback user,
// which may do anything.
func (a *apiServer) config() *restclient.Config {
	return restclient.CopyConfig(a.server.ClientConfig)
}

// stop shuts the server down and waits for it.
func (a *apiServer) stop() {
	a.server.TearDownFn()
	a.tb.runCleanups()
}

// WriteKubeconfig writes a kubeconfig file for cfg (host, CA, server name,
// bearer token or client certificate) with one context, "local".
func WriteKubeconfig(path string, cfg *restclient.Config) error {
	cluster := clientcmdapi.NewCluster()
	cluster.Server = cfg.Host
	cluster.CertificateAuthorityData = cfg.TLSClientConfig.CAData
	cluster.CertificateAuthority = cfg.TLSClientConfig.CAFile
	// The loopback certificate is issued for this name, not for 127.0.0.1:
	// without it clients fail with "x509: certificate signed by unknown
	// authority".
	cluster.TLSServerName = cfg.TLSClientConfig.ServerName
	cluster.InsecureSkipTLSVerify = cfg.TLSClientConfig.Insecure

	user := clientcmdapi.NewAuthInfo()
	user.Token = cfg.BearerToken
	user.ClientCertificateData = cfg.TLSClientConfig.CertData
	user.ClientKeyData = cfg.TLSClientConfig.KeyData

	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = cluster
	kc.AuthInfos["local"] = user
	ctx := clientcmdapi.NewContext()
	ctx.Cluster = "local"
	ctx.AuthInfo = "local"
	kc.Contexts["local"] = ctx
	kc.CurrentContext = "local"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return fmt.Errorf("encoding kubeconfig: %w", err)
	}
	// The file holds a credential: readable by its owner only.
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}
