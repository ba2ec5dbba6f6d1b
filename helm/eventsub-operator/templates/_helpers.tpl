{{/*
Chart name, or nameOverride. Kubernetes names are limited to 63 characters.
*/}}
{{- define "eventsub-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: fullnameOverride, else "<release>-<name>", else the release
name alone when it already contains the chart name. At most 63 characters.
*/}}
{{- define "eventsub-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<chart>-<version>" for the helm.sh/chart label ("+" is not allowed in label values).
*/}}
{{- define "eventsub-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object of the chart.
*/}}
{{- define "eventsub-operator.labels" -}}
helm.sh/chart: {{ include "eventsub-operator.chart" . }}
{{ include "eventsub-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: eventsub
{{- end }}

{{/*
Labels that select the operator pods; they never change across upgrades.
*/}}
{{- define "eventsub-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eventsub-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the operator's ServiceAccount.
*/}}
{{- define "eventsub-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eventsub-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Operator image: "repository:tag", the tag defaulting to the chart's appVersion; a tag of the
form "sha256:<hex>" gives "repository@sha256:<hex>".
*/}}
{{- define "eventsub-operator.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if hasPrefix "sha256:" $tag }}
{{- printf "%s@%s" .Values.image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The operator's RBAC rules, shared by the ClusterRole (all namespaces) and by the Role of each
watched namespace.
*/}}
{{- define "eventsub-operator.rules" -}}
# Exactly what the operator calls; a test runs a whole scenario (both replay modes) with these.
# The eventsub resources: watched, and patched for the Delete policy's finalizer.
- apiGroups: ["eventsub.io"]
  resources: ["kafkaconnections", "eventtopics", "eventsubscriptions", "eventreplays"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["eventsub.io"]
  resources: ["kafkaconnections/status", "eventtopics/status", "eventsubscriptions/status", "eventreplays/status"]
  verbs: ["get", "patch"]
# Consumer Deployments and replay Jobs carry an ownerReference with blockOwnerDeletion; clusters
# that enforce owner-reference permissions require update on the owner's finalizers.
- apiGroups: ["eventsub.io"]
  resources: ["eventsubscriptions/finalizers", "eventreplays/finalizers"]
  verbs: ["update"]
# Events on the eventsub resources.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# Kafka credentials and TLS material referenced by KafkaConnections: by name, never listed.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
# Schemas (EventTopic spec.schema.*.configMapRef) and registry CAs kept in ConfigMaps: by name.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
# Consumer Deployments: read (does it exist, who owns its replicas), server-side apply
# (create when new, patch) and scaling. Garbage collection deletes them with their
# EventSubscription.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "create", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch"]
# Jobs of bounded EventReplays; their outcome is read from the status subresource.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["create"]
- apiGroups: ["batch"]
  resources: ["jobs/status"]
  verbs: ["get"]
{{- end }}

{{/*
Checks of value combinations the schema cannot express; fails the render with a clear message.
*/}}
{{- define "eventsub-operator.validate" -}}
{{- $replicas := int .Values.replicaCount }}
{{- if and (not .Values.leaderElection.enabled) (gt $replicas 1) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled: two operators without a leader would both reconcile" }}
{{- end }}
{{- $minAvailable := .Values.podDisruptionBudget.minAvailable }}
{{- if and .Values.podDisruptionBudget.enabled (gt $replicas 1) (not (kindIs "string" $minAvailable)) }}
{{- if ge (int $minAvailable) $replicas }}
{{- fail (printf "podDisruptionBudget.minAvailable (%d) must be less than replicaCount (%d): otherwise no operator pod could ever be evicted and node drains would hang" (int $minAvailable) $replicas) }}
{{- end }}
{{- end }}
{{- end }}
