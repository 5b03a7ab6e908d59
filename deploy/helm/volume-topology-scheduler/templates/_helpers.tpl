{{/*
The Kubernetes minors this release of the scheduler is built for, oldest
first: one image per minor, tagged <appVersion>-k8s<minor>. Keep it equal to
KUBE_MINORS in the Makefile and to deploy/kustomize (test/install checks).
*/}}
{{- define "vts.builds" -}}
1.35 1.36 1.37
{{- end }}

{{/*
vts.clusterMinor is the cluster's Kubernetes version as "<major>.<minor>",
from .Capabilities.KubeVersion (the API server's /version when installing,
--kube-version for helm template). Providers append "+" to the minor (GKE,
EKS), which is dropped.
*/}}
{{- define "vts.clusterMinor" -}}
{{- $major := regexFind "^[0-9]+" (toString .Capabilities.KubeVersion.Major) -}}
{{- $minor := regexFind "^[0-9]+" (toString .Capabilities.KubeVersion.Minor) -}}
{{- if or (not $major) (not $minor) -}}
{{- fail (printf "volume-topology-scheduler: cannot read the Kubernetes minor of the cluster from its version %q (major %q, minor %q)" .Capabilities.KubeVersion.Version .Capabilities.KubeVersion.Major .Capabilities.KubeVersion.Minor) -}}
{{- end -}}
{{- printf "%s.%s" $major $minor -}}
{{- end }}

{{/*
vts.buildMinor is the minor of the build to run on this cluster, or fails.
kube-scheduler may be at most one minor older than the kube-apiserver and
never newer: a cluster at minor N runs build N, and a cluster one minor newer
than the newest build runs the newest build. Anything else has no build.
*/}}
{{- define "vts.buildMinor" -}}
{{- $builds := splitList " " (include "vts.builds" .) -}}
{{- $cluster := include "vts.clusterMinor" . -}}
{{- $newest := last $builds -}}
{{- $parts := splitList "." $newest -}}
{{- $oneNewer := printf "%s.%d" (index $parts 0) (add1 (atoi (index $parts 1))) -}}
{{- if has $cluster $builds -}}
{{- $cluster -}}
{{- else if eq $cluster $oneNewer -}}
{{- $newest -}}
{{- else -}}
{{- $advice := printf "Upgrade the cluster to Kubernetes %s or newer first." (first $builds) -}}
{{- if semverCompare (printf ">%s" $oneNewer) (printf "%s.0" $cluster) -}}
{{- $advice = printf "Install a release of this chart that has a build for Kubernetes %s." $cluster -}}
{{- end -}}
{{- fail (printf "volume-topology-scheduler %s has no build for this cluster's Kubernetes %s (it reports %s). Its builds are for Kubernetes %s, and a %s cluster may run the %s build: kube-scheduler must not be newer than the kube-apiserver, nor more than one minor older. %s" .Chart.AppVersion $cluster .Capabilities.KubeVersion.Version (join ", " $builds) $oneNewer $newest $advice) -}}
{{- end -}}
{{- end }}

{{/*
vts.image is <repository>:<tag>, the tag being <appVersion>-k8s<build minor>
unless image.tag is set.
*/}}
{{- define "vts.image" -}}
{{- $build := include "vts.buildMinor" . -}}
{{- $tag := .Values.image.tag | default (printf "%s-k8s%s" .Chart.AppVersion $build) -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end }}

{{- define "vts.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "vts.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
Labels of every object: the app.kubernetes.io/name label the kustomize
install sets, and the ones Helm charts add.
*/}}
{{- define "vts.labels" -}}
app.kubernetes.io/name: {{ include "vts.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of the scheduler pods, which selectors match. */}}
{{- define "vts.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vts.name" . }}
app.kubernetes.io/component: scheduler
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the Deployment, PodDisruptionBudget and Service. */}}
{{- define "vts.componentLabels" -}}
{{ include "vts.labels" . }}
app.kubernetes.io/component: scheduler
{{- end }}

{{- define "vts.leaseName" -}}
{{- .Values.leaderElection.resourceName | default .Values.schedulerName -}}
{{- end }}

{{- define "vts.leaseNamespace" -}}
{{- .Values.leaderElection.resourceNamespace | default .Release.Namespace -}}
{{- end }}

{{/*
vts.pluginArgs renders the fields of VolumeTopologyArgs: every field of
pluginArgs that is not null (an empty list is kept: it means something for
nvmeInstanceFamilies).
*/}}
{{- define "vts.pluginArgs" -}}
{{- $args := dict -}}
{{- range $k, $v := .Values.pluginArgs -}}
{{- if not (kindIs "invalid" $v) -}}
{{- $_ := set $args $k $v -}}
{{- end -}}
{{- end -}}
{{- if $args -}}
{{- toYaml $args -}}
{{- end -}}
{{- end }}
