{{/*
Helpers for the dte-sidecar chart. Everything that more than one template needs
(names, labels, the rendered config file, the Secret's name and keys, the
environment both the server and the migration Job get) lives here, once.
*/}}

{{/* Chart name, overridable. */}}
{{- define "dte-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: release-chart, or just the release name when it
already contains the chart name. Truncated to 63 characters (DNS label).
Kept short enough (<= 52) that "-sii-sim" and "-migrate" suffixes still fit.
*/}}
{{- define "dte-sidecar.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart label value: name-version */}}
{{- define "dte-sidecar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every object of the release. */}}
{{- define "dte-sidecar.labels" -}}
helm.sh/chart: {{ include "dte-sidecar.chart" . }}
{{ include "dte-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ include "dte-sidecar.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dte-sidecar
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of the release (no component: add one per workload). */}}
{{- define "dte-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dte-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of the server pods (the Deployment running `serve`). */}}
{{- define "dte-sidecar.serverSelectorLabels" -}}
{{ include "dte-sidecar.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/* Selector labels of the SII simulator pods. */}}
{{- define "dte-sidecar.simulatorSelectorLabels" -}}
{{ include "dte-sidecar.selectorLabels" . }}
app.kubernetes.io/component: sii-simulator
{{- end }}

{{/* ServiceAccount used by the server pods. */}}
{{- define "dte-sidecar.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dte-sidecar.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
ServiceAccount used by the migration hook Job. A pre-install hook runs before the
chart's own ServiceAccount exists, so the Job cannot use it on a first install:
it uses migration.serviceAccountName, or an existing account named in
serviceAccount.name when the chart does not create it, or the namespace's
"default" account. The pod mounts no API token in any case.
*/}}
{{- define "dte-sidecar.migrationServiceAccountName" -}}
{{- if .Values.migration.serviceAccountName }}
{{- .Values.migration.serviceAccountName }}
{{- else if and (not .Values.serviceAccount.create) .Values.serviceAccount.name }}
{{- .Values.serviceAccount.name }}
{{- else }}
{{- "default" }}
{{- end }}
{{- end }}

{{/* Image tag: image.tag or the chart's appVersion. */}}
{{- define "dte-sidecar.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* Full image reference; a digest, when given, pins the image. */}}
{{- define "dte-sidecar.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (include "dte-sidecar.imageTag" .) }}
{{- end }}
{{- end }}

{{/* Name of the Secret the pods read: existingSecret or the chart's own. */}}
{{- define "dte-sidecar.secretName" -}}
{{- default (include "dte-sidecar.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* Name of the SII simulator's Deployment and Service. */}}
{{- define "dte-sidecar.simulatorName" -}}
{{- printf "%s-sii-sim" (include "dte-sidecar.fullname" .) }}
{{- end }}

{{/* In-cluster URL of the SII simulator. */}}
{{- define "dte-sidecar.simulatorUrl" -}}
{{- printf "http://%s.%s.svc:%d" (include "dte-sidecar.simulatorName" .) .Release.Namespace (int .Values.siiSimulator.port) }}
{{- end }}

{{/*
API key names: the keys of secrets.apiKeys when the chart makes the Secret, or
secrets.apiKeyNames when an existing Secret is used. Each name N becomes the
environment variable DTE__AUTH__API_KEYS__<N upper-cased> read from the Secret
key "api-key-<N>". Returned as a JSON list (include + fromJsonArray).
*/}}
{{- define "dte-sidecar.apiKeyNames" -}}
{{- if .Values.secrets.existingSecret }}
{{- toJson (.Values.secrets.apiKeyNames | default list) }}
{{- else }}
{{- toJson (keys (.Values.secrets.apiKeys | default dict) | sortAlpha) }}
{{- end }}
{{- end }}

{{/*
Timeout the server is given to finish in-flight uploads after SIGTERM.
*/}}
{{- define "dte-sidecar.shutdownTimeout" -}}
{{- int (.Values.config.server.shutdown_timeout_secs | default 30) }}
{{- end }}

{{/*
terminationGracePeriodSeconds: the value given, or preStop sleep + the server's
shutdown timeout + 10 s of margin. A value given that leaves the server less
than its shutdown timeout is refused: the kubelet would SIGKILL uploads midway.
*/}}
{{- define "dte-sidecar.terminationGracePeriod" -}}
{{- $timeout := int (include "dte-sidecar.shutdownTimeout" .) }}
{{- $sleep := int (.Values.gracefulShutdown.preStopSleepSeconds | default 0) }}
{{- $auto := add $sleep $timeout 10 }}
{{- $given := .Values.gracefulShutdown.terminationGracePeriodSeconds }}
{{- if kindIs "invalid" $given }}
{{- $auto }}
{{- else if le (int $given) (add $sleep $timeout) }}
{{- fail (printf "gracefulShutdown.terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + config.server.shutdown_timeout_secs (%d)" (int $given) (add $sleep $timeout)) }}
{{- else }}
{{- int $given }}
{{- end }}
{{- end }}

{{/* config.backup.store as a string ("" when unset). */}}
{{- define "dte-sidecar.backupStore" -}}
{{- (.Values.config.backup | default dict).store | default "" }}
{{- end }}

{{/* Directory of the backup copies when the store is "dir". */}}
{{- define "dte-sidecar.backupDir" -}}
{{- (.Values.config.backup | default dict).dir | default "/var/lib/dte-sidecar/backup" }}
{{- end }}

{{/* config.smtp.host ("" when unset). */}}
{{- define "dte-sidecar.smtpHost" -}}
{{- (.Values.config.smtp | default dict).host | default "" }}
{{- end }}

{{/* config.smtp.port (587 when unset). */}}
{{- define "dte-sidecar.smtpPort" -}}
{{- int ((.Values.config.smtp | default dict).port | default 587) }}
{{- end }}

{{/* config.admin.board_user ("" when unset). */}}
{{- define "dte-sidecar.boardUser" -}}
{{- (.Values.config.admin | default dict).board_user | default "" }}
{{- end }}

{{/* config.sii.environment ("" when unset). */}}
{{- define "dte-sidecar.siiEnvironment" -}}
{{- (.Values.config.sii | default dict).environment | default "" }}
{{- end }}

{{/*
A map without its nulls, empty strings and (recursively) empty maps, as JSON.
*/}}
{{- define "dte-sidecar.prune" -}}
{{- $out := dict }}
{{- range $k, $v := . }}
{{- if kindIs "map" $v }}
{{- $p := include "dte-sidecar.prune" $v | fromJson }}
{{- if $p }}
{{- $_ := set $out $k $p }}
{{- end }}
{{- else if not (or (kindIs "invalid" $v) (and (kindIs "string" $v) (eq $v ""))) }}
{{- $_ := set $out $k $v }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The settings the chart decides, merged over .Values.config (and extraConfig),
then pruned (see dte-sidecar.prune):
- server.bind follows containerPort;
- database.migrate_on_start is false while the migration hook Job runs `migrate`;
- sii.simulator_url points at the in-cluster simulator when it is deployed and
  no URL was given;
- backup.dir is the volume's mount path when the store is "dir", and is dropped
  otherwise.
Returned as JSON (include + fromJson).
*/}}
{{- define "dte-sidecar.effectiveConfig" -}}
{{- $cfg := mustMergeOverwrite (dict) (deepCopy .Values.config) (deepCopy (.Values.extraConfig | default dict)) }}
{{- $server := get $cfg "server" | default dict }}
{{- $_ := set $server "bind" (printf "0.0.0.0:%d" (int .Values.containerPort)) }}
{{- $_ := set $cfg "server" $server }}
{{- if .Values.migration.enabled }}
{{- $db := get $cfg "database" | default dict }}
{{- $_ := set $db "migrate_on_start" false }}
{{- $_ := set $cfg "database" $db }}
{{- end }}
{{- if .Values.siiSimulator.enabled }}
{{- $sii := get $cfg "sii" | default dict }}
{{- if not (get $sii "simulator_url") }}
{{- $_ := set $sii "simulator_url" (include "dte-sidecar.simulatorUrl" .) }}
{{- end }}
{{- $_ := set $cfg "sii" $sii }}
{{- end }}
{{- $backup := get $cfg "backup" | default dict }}
{{- if eq (include "dte-sidecar.backupStore" .) "dir" }}
{{- $_ := set $backup "dir" (include "dte-sidecar.backupDir" .) }}
{{- else }}
{{- $_ := unset $backup "dir" }}
{{- end }}
{{- $_ := set $cfg "backup" $backup }}
{{- include "dte-sidecar.prune" $cfg }}
{{- end }}

{{/*
Render a map as TOML. Helm's own toToml prints every number as a float (30.0,
1.048576e+07) because values arrive as float64, and the service reads its
integer settings as integers; so this renders scalars with toJson, which prints
whole numbers as integers, strings as TOML-compatible basic strings, booleans as
true/false, and lists of scalars as inline arrays. Nested maps become [tables].
Nulls and empty strings are skipped (the input is normally pruned already).
Call with (dict "prefix" "" "map" $m).
*/}}
{{- define "dte-sidecar.toml" -}}
{{- $prefix := .prefix }}
{{- $m := .map }}
{{- range $k, $v := $m }}
{{- if not (or (kindIs "map" $v) (kindIs "invalid" $v) (and (kindIs "string" $v) (eq $v ""))) }}
{{ $k }} = {{ toJson $v }}
{{- end }}
{{- end }}
{{- range $k, $v := $m }}
{{- if kindIs "map" $v }}
{{- $name := ternary $k (printf "%s.%s" $prefix $k) (eq $prefix "") }}

[{{ $name }}]
{{- include "dte-sidecar.toml" (dict "prefix" $name "map" $v) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The config file, as mounted at /etc/dte-sidecar/config.toml. */}}
{{- define "dte-sidecar.configToml" -}}
# Rendered by the dte-sidecar Helm chart from .Values.config; do not edit in place.
# Secrets are not in this file: they come from environment variables set from a Secret.
{{- include "dte-sidecar.toml" (dict "prefix" "" "map" (include "dte-sidecar.effectiveConfig" . | fromJson)) }}
{{ end }}

{{/* Pod security context shared by every pod of the chart. */}}
{{- define "dte-sidecar.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{/* Container security context shared by every container of the chart. */}}
{{- define "dte-sidecar.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/*
Environment common to `serve` and `migrate`: where the config file is, the
database URL, and (for serve) every secret setting. Call with
(dict "root" $ "secretName" NAME "full" true|false).
*/}}
{{- define "dte-sidecar.env" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $k := $v.secrets.keys }}
- name: DTE_CONFIG
  value: /etc/dte-sidecar/config.toml
- name: DTE__SERVER__BIND
  value: {{ printf "0.0.0.0:%d" (int $v.containerPort) | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $k.databaseUrl }}
{{- if .full }}
{{- range $name := include "dte-sidecar.apiKeyNames" $root | fromJsonArray }}
- name: {{ printf "DTE__AUTH__API_KEYS__%s" (upper $name) }}
  valueFrom:
    secretKeyRef:
      name: {{ $.secretName }}
      key: {{ printf "%s%s" $k.apiKeyPrefix $name }}
{{- end }}
{{- if include "dte-sidecar.boardUser" $root }}
- name: DTE__ADMIN__BOARD_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $k.boardPassword }}
{{- end }}
{{- if $v.signingCertificate.enabled }}
- name: DTE__SII__CERTIFICATE_PATH
  value: {{ printf "%s/%s" (trimSuffix "/" $v.signingCertificate.mountPath) $k.signingCertificate | quote }}
- name: DTE__SII__CERTIFICATE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $k.signingCertificatePassword }}
{{- end }}
{{- if include "dte-sidecar.smtpHost" $root }}
- name: DTE__SMTP__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $k.smtpPassword }}
      optional: true
{{- end }}
{{- if eq (include "dte-sidecar.backupStore" $root) "s3" }}
- name: DTE__BACKUP__S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $k.s3AccessKeyId }}
- name: DTE__BACKUP__S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $k.s3SecretAccessKey }}
{{- end }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Checks that values make a deployable whole; rendered (as nothing) by the
Deployment so that `helm template`/`helm lint` fail early with a clear message.
*/}}
{{- define "dte-sidecar.validate" -}}
{{- $v := .Values }}
{{- $store := include "dte-sidecar.backupStore" . }}
{{- if and (not $v.secrets.existingSecret) $v.signingCertificate.enabled (not $v.secrets.signingCertificateBase64) }}
{{- fail "signingCertificate.enabled needs secrets.signingCertificateBase64 (base64 of the .p12) or secrets.existingSecret" }}
{{- end }}
{{- if and (eq $store "s3") (not $v.config.backup.s3_bucket) }}
{{- fail "config.backup.store=s3 needs config.backup.s3_bucket" }}
{{- end }}
{{- if and (eq $store "s3") (not $v.secrets.existingSecret) (not (and $v.secrets.s3AccessKeyId $v.secrets.s3SecretAccessKey)) }}
{{- fail "config.backup.store=s3 needs secrets.s3AccessKeyId and secrets.s3SecretAccessKey (or secrets.existingSecret)" }}
{{- end }}
{{- if and (eq $store "dir") $v.persistence.enabled (not $v.persistence.existingClaim) (or $v.autoscaling.enabled (gt (int $v.replicaCount) 1)) }}
{{- $shared := false }}
{{- range $v.persistence.accessModes }}{{ if eq . "ReadWriteMany" }}{{ $shared = true }}{{ end }}{{ end }}
{{- if not $shared }}
{{- fail "several replicas share the backup volume: persistence.accessModes needs ReadWriteMany (or use config.backup.store=s3, or one replica)" }}
{{- end }}
{{- end }}
{{- if and $v.autoscaling.enabled (lt (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must be >= autoscaling.minReplicas" }}
{{- end }}
{{- $limits := $v.config.limits | default dict }}
{{- if and $limits.max_xml_bytes $limits.max_body_bytes (gt (int64 $limits.max_xml_bytes) (int64 $limits.max_body_bytes)) }}
{{- fail "config.limits.max_xml_bytes must not exceed config.limits.max_body_bytes" }}
{{- end }}
{{- end }}
