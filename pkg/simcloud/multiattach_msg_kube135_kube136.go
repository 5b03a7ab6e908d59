//go:build kube1.35 || kube1.36

package simcloud

// The attach-detach controller's words when it will not attach a
// single-attach volume to a second node (Kubernetes 1.35 and 1.36 call it a
// Multi-Attach error; 1.37 waiting for detach).
const (
	multiAttachPrefix = "Multi-Attach error"
	// MultiAttachAttachedDetail is the detail when no pod on the other node
	// uses the volume any more.
	MultiAttachAttachedDetail = "Volume is already exclusively attached to one node and can't be attached to another"
)
