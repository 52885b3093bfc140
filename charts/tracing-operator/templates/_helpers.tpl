{{/*
Shared names, labels and values derived for every template of the tracing-operator chart.
*/}}

{{- define "tracing-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: fullnameOverride, else the release name (+ chart name unless contained). */}}
{{- define "tracing-operator.fullname" -}}
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
{{- end -}}

{{- define "tracing-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tracing-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tracing-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tracing-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tracing-operator
{{- end -}}

{{- define "tracing-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tracing-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tracing-operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* "true" when the operator runs leader election. */}}
{{- define "tracing-operator.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) -}}true{{- end -}}
{{- end -}}

{{- define "tracing-operator.leaderElectionId" -}}
{{- default (include "tracing-operator.suffixed" (list . "-leader")) .Values.leaderElection.id -}}
{{- end -}}

{{/* The full name + a suffix, the full name shortened so the suffix always fits in 63. */}}
{{- define "tracing-operator.suffixed" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $base := include "tracing-operator.fullname" $root | trunc (int (sub 63 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s%s" $base $suffix -}}
{{- end -}}

{{- define "tracing-operator.webhookServiceName" -}}
{{- include "tracing-operator.suffixed" (list . "-webhook") -}}
{{- end -}}

{{- define "tracing-operator.metricsServiceName" -}}
{{- include "tracing-operator.suffixed" (list . "-metrics") -}}
{{- end -}}

{{/* The Secret holding the serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "tracing-operator.webhookSecretName" -}}
{{- if .Values.webhook.secret.name -}}
{{- .Values.webhook.secret.name -}}
{{- else if eq .Values.webhook.certMode "secret" -}}
{{- required "webhook.secret.name is required with webhook.certMode=secret" .Values.webhook.secret.name -}}
{{- else -}}
{{- include "tracing-operator.suffixed" (list . "-webhook-cert") -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the operator reads a mounted certificate (--cert-mode=files): cert-manager and
secret modes, and an operator outside the cluster (webhook.url), which has its own files.
Otherwise (self-signed) the operator makes the certificate and keeps it in a Secret.
*/}}
{{- define "tracing-operator.certFromFiles" -}}
{{- if or (ne .Values.webhook.certMode "self-signed") .Values.webhook.url -}}true{{- end -}}
{{- end -}}

{{/*
caBundle of one webhook: webhook.caBundle when given; otherwise (self-signed and
cert-manager modes, where the operator or cainjector writes it) the caBundle already in
the cluster, so `helm upgrade` never wipes it. Arguments: (list $ "<Kind>" "<webhook name>").
*/}}
{{- define "tracing-operator.caBundle" -}}
{{- $root := index . 0 -}}
{{- $kind := index . 1 -}}
{{- $hook := index . 2 -}}
{{- if $root.Values.webhook.caBundle -}}
{{- $root.Values.webhook.caBundle -}}
{{- else if and (ne $root.Values.webhook.certMode "secret") (not $root.Values.webhook.url) -}}
{{- $live := lookup "admissionregistration.k8s.io/v1" $kind "" (include "tracing-operator.fullname" $root) -}}
{{- range (dig "webhooks" (list) $live) -}}
{{- if eq (dig "name" "" .) $hook -}}{{- dig "clientConfig" "caBundle" "" . -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* clientConfig of one webhook. Arguments: (list $ "<Kind>" "<webhook name>" "<path>"). */}}
{{- define "tracing-operator.clientConfig" -}}
{{- $root := index . 0 -}}
{{- $path := index . 3 -}}
{{- $ca := include "tracing-operator.caBundle" (list $root (index . 1) (index . 2)) -}}
{{- if $root.Values.webhook.url }}
url: {{ printf "%s%s" (trimSuffix "/" $root.Values.webhook.url) $path | quote }}
{{- else }}
service:
  name: {{ include "tracing-operator.webhookServiceName" $root }}
  namespace: {{ $root.Release.Namespace }}
  path: {{ $path }}
  port: {{ $root.Values.webhook.service.port }}
{{- end }}
{{- if $ca }}
caBundle: {{ $ca }}
{{- end }}
{{- end -}}

{{/* namespaceSelector/objectSelector from values, as a YAML map ({} when empty). */}}
{{- define "tracing-operator.selector" -}}
{{- if . }}
{{- toYaml . }}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* Pod webhook namespaceSelector: the values' selector, minus excluded namespaces. */}}
{{- define "tracing-operator.podNamespaceSelector" -}}
{{- $sel := .Values.webhook.namespaceSelector -}}
{{- with $sel.matchLabels }}
matchLabels:
  {{- toYaml . | nindent 2 }}
{{- end }}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- range (uniq (append (.Values.webhook.excludeNamespaces | default list) .Release.Namespace)) }}
      - {{ . | quote }}
      {{- end }}
  {{- with .Values.watchNamespaces }}
  - key: kubernetes.io/metadata.name
    operator: In
    values:
      {{- range . }}
      - {{ . | quote }}
      {{- end }}
  {{- end }}
  {{- with $sel.matchExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
