{{/*
Numbers: Helm reads values files as float64, and Go prints a float64 of a million or more as
1e+06. Templates print every number from values through `int`, or through `toYaml` where the
value may also be a string ("25%").
*/}}
{{/* Names. Kubernetes names are at most 63 characters; the suffixes below are short. */}}
{{- define "anteroom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "anteroom.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "anteroom.coordinator.fullname" -}}
{{- printf "%s-coordinator" (include "anteroom.fullname" .) -}}
{{- end -}}

{{- define "anteroom.coordinator.headless" -}}
{{- printf "%s-coordinator-headless" (include "anteroom.fullname" .) -}}
{{- end -}}

{{- define "anteroom.agent.fullname" -}}
{{- printf "%s-agent" (include "anteroom.fullname" .) -}}
{{- end -}}

{{- define "anteroom.syncTokenSecret" -}}
{{- default (printf "%s-sync-token" (include "anteroom.fullname" .)) .Values.syncToken.existingSecret -}}
{{- end -}}

{{- define "anteroom.adminTokenSecret" -}}
{{- default (printf "%s-admin-token" (include "anteroom.fullname" .)) .Values.adminToken.existingSecret -}}
{{- end -}}

{{- define "anteroom.signingKeysSecret" -}}
{{- default (printf "%s-signing-keys" (include "anteroom.fullname" .)) .Values.signingKeys.existingSecret -}}
{{- end -}}

{{- define "anteroom.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "anteroom.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels. Selector labels never include the version, so upgrades keep matching pods. */}}
{{- define "anteroom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "anteroom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: anteroom
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "anteroom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "anteroom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "anteroom.coordinator.selectorLabels" -}}
{{ include "anteroom.selectorLabels" . }}
app.kubernetes.io/component: coordinator
{{- end -}}

{{- define "anteroom.agent.selectorLabels" -}}
{{ include "anteroom.selectorLabels" . }}
app.kubernetes.io/component: agent
{{- end -}}

{{/* The label that lets a pod through the coordinator's NetworkPolicy. */}}
{{- define "anteroom.clientLabel" -}}
{{ include "anteroom.fullname" . }}-client: "true"
{{- end -}}

{{- define "anteroom.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{/*
Coordinator shard addresses by ordinal, comma-separated: shard i is pod i of the StatefulSet,
reached through the headless Service. Namespace-qualified so sidecars elsewhere can use them.
*/}}
{{- define "anteroom.coordinatorAddresses" -}}
{{- if .Values.coordinator.enabled -}}
{{- $addrs := list -}}
{{- $sts := include "anteroom.coordinator.fullname" . -}}
{{- $svc := include "anteroom.coordinator.headless" . -}}
{{- range $i := until (int .Values.coordinator.replicas) -}}
{{- $addrs = append $addrs (printf "%s-%d.%s.%s.svc:%d" $sts $i $svc $.Release.Namespace (int $.Values.coordinator.ports.grpc)) -}}
{{- end -}}
{{- join "," $addrs -}}
{{- else -}}
{{- join "," .Values.externalCoordinators -}}
{{- end -}}
{{- end -}}

{{/*
An agent config file (AgentConfig) as YAML. Called with dict "root" $ "v" <agent or sidecar
values> "listen" <port> "admin" <port>. The values' `config` wins over what the chart sets.
*/}}
{{- define "anteroom.agentConfig" -}}
{{- $root := .root -}}
{{- $cfg := dict "listen" (printf "0.0.0.0:%d" (int .listen)) "admin_listen" (printf "0.0.0.0:%d" (int .admin)) "mode" .v.mode "fail_mode" .v.failMode -}}
{{- if .v.defaultUpstream -}}
{{- $_ := set $cfg "default_upstream" .v.defaultUpstream -}}
{{- end -}}
{{- $coordinators := include "anteroom.coordinatorAddresses" $root -}}
{{- if $coordinators -}}
{{- $_ := set $cfg "coordinators" (splitList "," $coordinators) -}}
{{- if $root.Values.syncToken.enabled -}}
{{- $_ := set $cfg "sync_token_file" (printf "/etc/anteroom/sync-token/%s" $root.Values.syncToken.key) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $cfg "keys_file" "/etc/anteroom/keys/keys.yaml" -}}
{{- end -}}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy .v.config) -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The pod-level parts every Anteroom pod shares. Called with dict "root" $ "v" <values>. */}}
{{- define "anteroom.podScheduling" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
