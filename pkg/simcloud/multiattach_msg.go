//go:build !kube1.35 && !kube1.36

package simcloud

// The attach-detach controller's words when it will not attach a
// single-attach volume to a second node (Kubernetes 1.37 calls it waiting for
// detach; 1.35 and 1.36 a Multi-Attach error). The event message is
// fmt.Sprintf(format, volume) followed by the detail.
const (
	multiAttachPrefix = "Waiting for detach"
	// MultiAttachAttachedDetail is the detail when no pod on the other node
	// uses the volume any more.
	MultiAttachAttachedDetail = "Volume is already exclusively attached to one node, waiting on detach before it can be attached to another node"
)
