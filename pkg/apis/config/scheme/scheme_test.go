package scheme

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	kubeschedulerscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	kubeschedulerconfigv1 "k8s.io/kubernetes/pkg/scheduler/apis/config/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	configv1 "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/v1"
)

const (
	pluginName    = "VolumeTopology"
	schedulerName = "volume-topology-scheduler"
)

// configWithArgs is a whole scheduler configuration whose VolumeTopology
// pluginConfig entry has the given args block (indented to sit under "args:"),
// or none at all when args is empty.
func configWithArgs(args string) []byte {
	head := `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: false
profiles:
- schedulerName: volume-topology-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: VolumeTopology
  pluginConfig:
  - name: VolumeTopology
`
	if args == "" {
		return []byte(head)
	}
	return []byte(head + "    args:\n" + args)
}

func defaultArgs() *config.VolumeTopologyArgs {
	return &config.VolumeTopologyArgs{
		Drivers:                []string{"diskplugin.csi.alibabacloud.com"},
		MaxNodesPerZone:        16,
		NVMeInstanceFamilies:   []string{"g7se", "c7se", "r7se", "c8y", "g8y", "r8y", "g8ae", "c8ae", "r8ae", "g8i", "c8i", "r8i"},
		NVMeLabelKey:           "volume-topology.scheduling.io/nvme-multi-attach",
		CountVolumeAttachments: true,
		ZoneLabelKeys: []string{
			"topology.diskplugin.csi.alibabacloud.com/zone",
			"topology.kubernetes.io/zone",
			"failure-domain.beta.kubernetes.io/zone",
		},
		EnforceReadWriteOnce: true,
	}
}

func TestDecodeVolumeTopologyArgs(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    *config.VolumeTopologyArgs
		wantErr []string // substrings the error must contain
	}{
		{
			name: "empty args take every default",
			data: configWithArgs("      {}\n"),
			want: defaultArgs(),
		},
		{
			name: "no args block takes every default",
			data: configWithArgs(""),
			want: defaultArgs(),
		},
		{
			name: "plugin enabled without a pluginConfig entry gets defaulted args",
			data: []byte(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: volume-topology-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: VolumeTopology
`),
			want: defaultArgs(),
		},
		{
			name: "every field set",
			data: configWithArgs(`      drivers:
      - disk.csi.example.com
      - Other.CSI-Driver
      maxNodesPerZone: 4
      nvmeInstanceFamilies:
      - g9x
      - c9y
      nvmeLabelKey: example.com/nvme
      countVolumeAttachments: false
      zoneLabelKeys:
      - example.com/zone
      - topology.kubernetes.io/zone
      enforceReadWriteOnce: false
`),
			want: &config.VolumeTopologyArgs{
				Drivers:                []string{"disk.csi.example.com", "Other.CSI-Driver"},
				MaxNodesPerZone:        4,
				NVMeInstanceFamilies:   []string{"g9x", "c9y"},
				NVMeLabelKey:           "example.com/nvme",
				CountVolumeAttachments: false,
				ZoneLabelKeys:          []string{"example.com/zone", "topology.kubernetes.io/zone"},
				EnforceReadWriteOnce:   false,
			},
		},
		{
			name: "explicit zero values are not defaulted, an empty family list stays empty",
			data: configWithArgs(`      maxNodesPerZone: 0
      nvmeInstanceFamilies: []
      nvmeLabelKey: ""
      countVolumeAttachments: false
`),
			want: func() *config.VolumeTopologyArgs {
				a := defaultArgs()
				a.MaxNodesPerZone = 0
				a.NVMeInstanceFamilies = []string{}
				a.NVMeLabelKey = ""
				a.CountVolumeAttachments = false
				return a
			}(),
		},
		{
			name: "unknown field in the args is rejected",
			data: configWithArgs(`      maxNodesPerZone: 4
      maxNodes: 8
`),
			wantErr: []string{`strict decoding error: decoding .profiles[0].pluginConfig[0]: strict decoding error: ` +
				`decoding args for plugin VolumeTopology: strict decoding error: unknown field "maxNodes"`},
		},
		{
			name: "field in the wrong case is rejected",
			data: configWithArgs(`      MaxNodesPerZone: 4
`),
			wantErr: []string{`decoding args for plugin VolumeTopology`, `unknown field "MaxNodesPerZone"`},
		},
		{
			name: "field of the wrong type is rejected",
			data: configWithArgs(`      maxNodesPerZone: many
`),
			wantErr: []string{`decoding args for plugin VolumeTopology`, `VolumeTopologyArgs.maxNodesPerZone of type int32`},
		},
	}
	decoder := Codecs.UniversalDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, _, err := decoder.Decode(tt.data, nil, nil)
			checkDecoded(t, obj, err, tt.want, tt.wantErr)
		})
	}
}

// TestKubeSchedulerCodecsDecodeVolumeTopologyArgs: kube-scheduler's --config
// decodes with the in-tree codecs, not ours; importing this package must be
// enough for those to know the args too.
func TestKubeSchedulerCodecsDecodeVolumeTopologyArgs(t *testing.T) {
	if Scheme != kubeschedulerscheme.Scheme {
		t.Fatal("Scheme is not kube-scheduler's in-tree scheme")
	}
	decoder := kubeschedulerscheme.Codecs.UniversalDecoder()
	t.Run("args set", func(t *testing.T) {
		obj, _, err := decoder.Decode(configWithArgs("      maxNodesPerZone: 3\n"), nil, nil)
		want := defaultArgs()
		want.MaxNodesPerZone = 3
		checkDecoded(t, obj, err, want, nil)
	})
	t.Run("unknown field", func(t *testing.T) {
		obj, _, err := decoder.Decode(configWithArgs("      zoneLabelKey: example.com/zone\n"), nil, nil)
		checkDecoded(t, obj, err, nil, []string{`unknown field "zoneLabelKey"`})
	})
}

// checkDecoded checks a decoded configuration: either its VolumeTopology args
// equal want, or the error contains every one of wantErr.
func checkDecoded(t *testing.T, obj runtime.Object, err error, want *config.VolumeTopologyArgs, wantErr []string) {
	t.Helper()
	if len(wantErr) > 0 {
		if err == nil {
			t.Fatalf("decoded without error, want an error containing %q", wantErr)
		}
		for _, s := range wantErr {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not contain %q", err, s)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
	if !ok {
		t.Fatalf("decoded a %T, want *KubeSchedulerConfiguration", obj)
	}
	if diff := cmp.Diff(want, volumeTopologyArgs(t, cfg)); diff != "" {
		t.Errorf("VolumeTopology args (-want,+got):\n%s", diff)
	}
}

// TestRoundTrip encodes decoded configurations back to v1 YAML and decodes
// them again: nothing may be lost or changed on the way, the empty family
// list and explicit false/zero values included.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{name: "defaults", data: configWithArgs("      {}\n")},
		{name: "every field set", data: configWithArgs(`      drivers: [disk.csi.example.com, Other.CSI-Driver]
      maxNodesPerZone: 4
      nvmeInstanceFamilies: [g9x]
      nvmeLabelKey: example.com/nvme
      countVolumeAttachments: false
      zoneLabelKeys: [example.com/zone]
      enforceReadWriteOnce: false
`)},
		{name: "explicit zero values", data: configWithArgs(`      maxNodesPerZone: 0
      nvmeInstanceFamilies: []
      countVolumeAttachments: false
`)},
	}
	yamlInfo, ok := runtime.SerializerInfoForMediaType(Codecs.SupportedMediaTypes(), runtime.ContentTypeYAML)
	if !ok {
		t.Fatalf("no serializer for %s", runtime.ContentTypeYAML)
	}
	encoder := Codecs.EncoderForVersion(yamlInfo.Serializer, kubeschedulerconfigv1.SchemeGroupVersion)
	decoder := Codecs.UniversalDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, _, err := decoder.Decode(tt.data, nil, nil)
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			var buf bytes.Buffer
			if err := encoder.Encode(first, &buf); err != nil {
				t.Fatalf("encoding: %v", err)
			}
			encoded := buf.String()
			for _, s := range []string{"apiVersion: kubescheduler.config.k8s.io/v1", "kind: VolumeTopologyArgs", "name: " + pluginName} {
				if !strings.Contains(encoded, s) {
					t.Errorf("encoded configuration lacks %q:\n%s", s, encoded)
				}
			}
			second, _, err := decoder.Decode(buf.Bytes(), nil, nil)
			if err != nil {
				t.Fatalf("decoding the encoded configuration: %v\n%s", err, encoded)
			}
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("round trip changed the configuration (-first,+second):\n%s\nencoded:\n%s", diff, encoded)
			}
			// The comparison above must not pass vacuously.
			volumeTopologyArgs(t, second.(*schedconfig.KubeSchedulerConfiguration))
		})
	}
}

// TestEncodeVolumeTopologyArgs pins the v1 form the args are written in.
func TestEncodeVolumeTopologyArgs(t *testing.T) {
	args := &config.VolumeTopologyArgs{
		Drivers:                []string{"disk.csi.example.com"},
		MaxNodesPerZone:        0,
		NVMeInstanceFamilies:   []string{},
		NVMeLabelKey:           "example.com/nvme",
		CountVolumeAttachments: false,
		ZoneLabelKeys:          []string{"example.com/zone"},
	}
	yamlInfo, ok := runtime.SerializerInfoForMediaType(Codecs.SupportedMediaTypes(), runtime.ContentTypeYAML)
	if !ok {
		t.Fatalf("no serializer for %s", runtime.ContentTypeYAML)
	}
	var buf bytes.Buffer
	if err := Codecs.EncoderForVersion(yamlInfo.Serializer, configv1.SchemeGroupVersion).Encode(args, &buf); err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: kubescheduler.config.k8s.io/v1
countVolumeAttachments: false
drivers:
- disk.csi.example.com
enforceReadWriteOnce: false
kind: VolumeTopologyArgs
maxNodesPerZone: 0
nvmeInstanceFamilies: []
nvmeLabelKey: example.com/nvme
zoneLabelKeys:
- example.com/zone
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("encoded args (-want,+got):\n%s", diff)
	}
}

// volumeTopologyArgs returns the args of the VolumeTopology entry of the one
// profile, which must be named volume-topology-scheduler.
func volumeTopologyArgs(t *testing.T, cfg *schedconfig.KubeSchedulerConfiguration) *config.VolumeTopologyArgs {
	t.Helper()
	if len(cfg.Profiles) != 1 || cfg.Profiles[0].SchedulerName != schedulerName {
		t.Fatalf("want one profile named %s, got %d profiles", schedulerName, len(cfg.Profiles))
	}
	var found *config.VolumeTopologyArgs
	for _, pc := range cfg.Profiles[0].PluginConfig {
		if pc.Name != pluginName {
			continue
		}
		if found != nil {
			t.Fatalf("more than one %s pluginConfig entry", pluginName)
		}
		args, ok := pc.Args.(*config.VolumeTopologyArgs)
		if !ok {
			t.Fatalf("%s args decoded into a %T, want *config.VolumeTopologyArgs", pluginName, pc.Args)
		}
		found = args
	}
	if found == nil {
		t.Fatalf("no %s pluginConfig entry", pluginName)
	}
	return found
}
