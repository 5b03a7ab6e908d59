package command

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// ErrViolations is returned by the audit command when it finds any.
var ErrViolations = errors.New("violations found")

// newAuditCommand returns "volume-topology-scheduler audit".
func newAuditCommand() *cobra.Command {
	var kubeconfig, output string
	args := volumetopology.DefaultArgs()
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Report every violation of the cloud disk placement rules in a cluster",
		Long: `audit reads a cluster through a kubeconfig and reports shared disks attached
to more nodes of a zone than the limit (pods and VolumeAttachments), nodes with
two holders of one shared disk, shared-disk pods on nodes that are not
NVMe-capable, and pods outside their disks' zones. It exits with status 1 when
it finds any. It is useful on clusters scheduled before this scheduler ran.`,
		SilenceUsage: true,
		RunE: func(c *cobra.Command, _ []string) error {
			client, err := clientFor(kubeconfig)
			if err != nil {
				return err
			}
			state, err := audit.Read(context.Background(), client)
			if err != nil {
				return err
			}
			report := audit.Check(state, args)
			if err := audit.Print(c.OutOrStdout(), report, output); err != nil {
				return err
			}
			if len(report.Violations) > 0 {
				return ErrViolations
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to audit (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	addArgsFlags(cmd, args)
	return cmd
}
