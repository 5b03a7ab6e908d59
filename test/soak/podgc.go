package soak

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// runPodGC plays the orphan part of kube-controller-manager's pod garbage
// collector (k8s.io/kubernetes/pkg/controller/podgc, whose package pulls
// kubelet dependencies this module does not carry): a pod bound to a node
// that has been gone for quarantine is marked Failed and deleted at once.
// It calls deleted for each pod it removes.
func runPodGC(ctx context.Context, c kubernetes.Interface, period, quarantine time.Duration, deleted func(*v1.Pod)) {
	logger := klog.FromContext(ctx).WithName("podgc")
	missingSince := map[string]time.Time{}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		pods, err := c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: pods.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		if err != nil {
			return
		}
		exists := map[string]bool{}
		for _, n := range nodes.Items {
			exists[n.Name] = true
		}
		now := time.Now()
		seen := map[string]bool{}
		for i := range pods.Items {
			pod := &pods.Items[i]
			node := pod.Spec.NodeName
			if node == "" || exists[node] {
				continue
			}
			seen[node] = true
			if _, ok := missingSince[node]; !ok {
				missingSince[node] = now
			}
			if now.Sub(missingSince[node]) < quarantine {
				continue
			}
			if pod.Status.Phase != v1.PodFailed && pod.Status.Phase != v1.PodSucceeded {
				failed := pod.DeepCopy()
				failed.Status.Phase = v1.PodFailed
				failed.Status.Conditions = append(failed.Status.Conditions, v1.PodCondition{
					Type: v1.DisruptionTarget, Status: v1.ConditionTrue, Reason: "DeletionByPodGC",
					Message: "PodGC: node no longer exists", LastTransitionTime: metav1.Now(),
				})
				if _, err := c.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, failed, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
					logger.V(2).Info("Cannot mark orphaned pod failed", "pod", klog.KObj(pod), "err", err)
					continue
				}
			}
			err := c.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, *metav1.NewDeleteOptions(0))
			if err != nil && !apierrors.IsNotFound(err) {
				logger.V(2).Info("Cannot delete orphaned pod", "pod", klog.KObj(pod), "err", err)
				continue
			}
			logger.V(1).Info("Deleted orphaned pod", "pod", klog.KObj(pod), "node", node)
			deleted(pod)
		}
		for node := range missingSince {
			if !seen[node] {
				delete(missingSince, node)
			}
		}
	}, period)
}

// runClaimGC plays the part of kube-controller-manager's garbage collector
// that deletes a generic ephemeral volume's claim once the pod that owns it
// is gone (the claim's controller owner reference names the pod's UID). It
// calls deleted for each claim it removes.
func runClaimGC(ctx context.Context, c kubernetes.Interface, period time.Duration, deleted func(*v1.PersistentVolumeClaim)) {
	logger := klog.FromContext(ctx).WithName("claimgc")
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		claims, err := c.CoreV1().PersistentVolumeClaims(Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		pods, err := c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{ResourceVersion: claims.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		if err != nil {
			return
		}
		live := map[types.UID]bool{}
		for i := range pods.Items {
			live[pods.Items[i].UID] = true
		}
		for i := range claims.Items {
			pvc := &claims.Items[i]
			owner := metav1.GetControllerOf(pvc)
			if owner == nil || owner.Kind != "Pod" || live[owner.UID] || pvc.DeletionTimestamp != nil {
				continue
			}
			err := c.CoreV1().PersistentVolumeClaims(Namespace).Delete(ctx, pvc.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pvc.UID}})
			if err != nil && !apierrors.IsNotFound(err) {
				logger.V(2).Info("Cannot delete the claim of a deleted pod", "pvc", klog.KObj(pvc), "err", err)
				continue
			}
			logger.V(1).Info("Deleted the claim of a deleted pod", "pvc", klog.KObj(pvc), "pod", owner.Name)
			deleted(pvc)
		}
	}, period)
}
