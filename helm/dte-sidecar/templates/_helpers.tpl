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
The user's settings: .Values.config with .Values.extraConfig merged over it,
as JSON (include + fromJson). Every helper that reads a setting reads it here,
so that extraConfig is honoured everywhere.
*/}}
{{- define "dte-sidecar.userConfig" -}}
{{- toJson (mustMergeOverwrite (dict) (deepCopy (.Values.config | default dict)) (deepCopy (.Values.extraConfig | default dict))) }}
{{- end }}

{{/* One section of the user's settings, as JSON ({} when absent). Call with (list $ "section"). */}}
{{- define "dte-sidecar.section" -}}
{{- $cfg := include "dte-sidecar.userConfig" (index . 0) | fromJson }}
{{- toJson (get $cfg (index . 1) | default dict) }}
{{- end }}

{{/*
The service's own default of a setting: files/settings-defaults.json, written from
`dte-sidecar config schema` (scripts/check-helm.sh fails when they differ).
Call with (list $ "section.key").
*/}}
{{- define "dte-sidecar.serviceDefault" -}}
{{- index ((index . 0).Files.Get "files/settings-defaults.json" | fromJson) (index . 1) }}
{{- end }}

{{/* Seconds the server is given to finish in-flight requests after SIGTERM. */}}
{{- define "dte-sidecar.shutdownTimeout" -}}
{{- $server := include "dte-sidecar.section" (list . "server") | fromJson }}
{{- int ($server.shutdown_timeout_secs | default (include "dte-sidecar.serviceDefault" (list . "server.shutdown_timeout_secs"))) }}
{{- end }}

{{/*
terminationGracePeriodSeconds: the value given, or preStop sleep + the server's
shutdown timeout + 10 s of margin. A value given that leaves the server less
than its shutdown timeout is refused: the kubelet would SIGKILL requests midway.
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

{{/* backup.store: "dir" or "s3" (the service's default when unset). */}}
{{- define "dte-sidecar.backupStore" -}}
{{- (include "dte-sidecar.section" (list . "backup") | fromJson).store | default (include "dte-sidecar.serviceDefault" (list . "backup.store")) }}
{{- end }}

{{/* backup.dir when the store is "dir": where the backup volume is mounted. */}}
{{- define "dte-sidecar.backupDir" -}}
{{- (include "dte-sidecar.section" (list . "backup") | fromJson).dir | default "/var/lib/dte-sidecar/backups" }}
{{- end }}

{{/* smtp.host ("" when unset: no alert mail). */}}
{{- define "dte-sidecar.smtpHost" -}}
{{- (include "dte-sidecar.section" (list . "smtp") | fromJson).host | default "" }}
{{- end }}

{{/* smtp.port (the service's default when unset). */}}
{{- define "dte-sidecar.smtpPort" -}}
{{- int ((include "dte-sidecar.section" (list . "smtp") | fromJson).port | default (include "dte-sidecar.serviceDefault" (list . "smtp.port"))) }}
{{- end }}

{{/* admin.board_user ("" when unset). */}}
{{- define "dte-sidecar.boardUser" -}}
{{- (include "dte-sidecar.section" (list . "admin") | fromJson).board_user | default "" }}
{{- end }}

{{/*
sii.environment as the service will see it: the value given; else "simulator"
when the chart deploys the simulator; else "certification" (the SII's test
environment: a chart default never talks to production).
*/}}
{{- define "dte-sidecar.siiEnvironment" -}}
{{- $given := (include "dte-sidecar.section" (list . "sii") | fromJson).environment | default "" }}
{{- if $given }}
{{- $given }}
{{- else if .Values.siiSimulator.enabled }}
{{- "simulator" }}
{{- else }}
{{- "certification" }}
{{- end }}
{{- end }}

{{/*
Directory the ConfigMap with config.toml is mounted in (DTE_CONFIG is
config.toml in it). A whole-volume mount rather than a subPath one: subPath
mounts miss ConfigMap updates, and some runtimes (podman kube play, which
scripts/test-image.sh runs the rendered chart with) do not support them.
*/}}
{{- define "dte-sidecar.configDir" -}}
/etc/dte-sidecar/config
{{- end }}

{{/* Directory the fake SII keys of siiSimulator.cafKeys are mounted in. */}}
{{- define "dte-sidecar.testKeysDir" -}}
/etc/dte-sidecar/sii-test-keys
{{- end }}

{{/*
"true" when the server pods mount the simulator's public CAF key and trust it:
the simulator is deployed with cafKeys and the service talks to a simulator.
*/}}
{{- define "dte-sidecar.trustTestKey" -}}
{{- if and .Values.siiSimulator.enabled .Values.siiSimulator.cafKeys.existingSecret (eq (include "dte-sidecar.siiEnvironment" .) "simulator") }}true{{ end }}
{{- end }}

{{/* The sii.extra_caf_keys entry of the simulator's key (it signs CAFs under IDK 100), as JSON. */}}
{{- define "dte-sidecar.testKeyEntry" -}}
{{- $k := .Values.siiSimulator.cafKeys }}
{{- toJson (dict "idk" 100 "path" (printf "%s/%s" (include "dte-sidecar.testKeysDir" .) $k.publicKey)) }}
{{- end }}

{{/*
A map without its nulls, empty strings, empty lists and (recursively) empty
maps, as JSON. false and 0 are kept.
*/}}
{{- define "dte-sidecar.prune" -}}
{{- $out := dict }}
{{- range $k, $v := . }}
{{- if kindIs "map" $v }}
{{- $p := include "dte-sidecar.prune" $v | fromJson }}
{{- if $p }}
{{- $_ := set $out $k $p }}
{{- end }}
{{- else if not (or (kindIs "invalid" $v) (and (kindIs "string" $v) (eq $v "")) (and (kindIs "slice" $v) (eq (len $v) 0))) }}
{{- $_ := set $out $k $v }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The server's settings: the user's (config + extraConfig) with what the chart
decides, then pruned (see dte-sidecar.prune):
- server.bind follows containerPort;
- database.migrate_on_start is false while the migration hook Job runs `migrate`;
- sii.environment is resolved (dte-sidecar.siiEnvironment); sii.simulator_url
  points at the in-cluster simulator when it is deployed and no URL was given;
  the simulator's public CAF key is added to sii.extra_caf_keys when trusted;
- admin.bind follows adminBoard; without the board the section is dropped;
- backup.store is explicit, backup.dir is the volume's mount path when the
  store is "dir" and is dropped otherwise.
Returned as JSON (include + fromJson).
*/}}
{{- define "dte-sidecar.effectiveConfig" -}}
{{- $cfg := include "dte-sidecar.userConfig" . | fromJson }}
{{- $server := get $cfg "server" | default dict }}
{{- $_ := set $server "bind" (printf "0.0.0.0:%d" (int .Values.containerPort)) }}
{{- $_ := set $cfg "server" $server }}
{{- if .Values.migration.enabled }}
{{- $db := get $cfg "database" | default dict }}
{{- $_ := set $db "migrate_on_start" false }}
{{- $_ := set $cfg "database" $db }}
{{- end }}
{{- $sii := get $cfg "sii" | default dict }}
{{- $env := include "dte-sidecar.siiEnvironment" . }}
{{- $_ := set $sii "environment" $env }}
{{- if and (eq $env "simulator") .Values.siiSimulator.enabled (not (get $sii "simulator_url")) }}
{{- $_ := set $sii "simulator_url" (include "dte-sidecar.simulatorUrl" .) }}
{{- end }}
{{- if include "dte-sidecar.trustTestKey" . }}
{{- $_ := set $sii "extra_caf_keys" (append (get $sii "extra_caf_keys" | default list) (include "dte-sidecar.testKeyEntry" . | fromJson)) }}
{{- end }}
{{- $_ := set $cfg "sii" $sii }}
{{- if .Values.adminBoard.enabled }}
{{- $admin := get $cfg "admin" | default dict }}
{{- $_ := set $admin "bind" (printf "0.0.0.0:%d" (int .Values.adminBoard.containerPort)) }}
{{- $_ := set $cfg "admin" $admin }}
{{- else }}
{{- $_ := unset $cfg "admin" }}
{{- end }}
{{- $backup := get $cfg "backup" | default dict }}
{{- $_ := set $backup "store" (include "dte-sidecar.backupStore" .) }}
{{- if eq (include "dte-sidecar.backupStore" .) "dir" }}
{{- $_ := set $backup "dir" (include "dte-sidecar.backupDir" .) }}
{{- else }}
{{- $_ := unset $backup "dir" }}
{{- end }}
{{- $_ := set $cfg "backup" $backup }}
{{- include "dte-sidecar.prune" $cfg }}
{{- end }}

{{/*
The SII simulator's settings (`dte-sidecar sii-sim` reads [simulator], and
[sii] for the schemas and the CAF keys it trusts): its own file, so that none
of the server's requirements (admin board password, ...) apply to it.
*/}}
{{- define "dte-sidecar.simulatorConfig" -}}
{{- $user := include "dte-sidecar.userConfig" . | fromJson }}
{{- $s := .Values.siiSimulator }}
{{- $sim := deepCopy ($s.settings | default dict) }}
{{- $_ := set $sim "bind" (printf "0.0.0.0:%d" (int $s.port)) }}
{{- $_ := set $sim "admin_bind" (printf "0.0.0.0:%d" (int $s.adminPort)) }}
{{- $sii := dict "schemas_dir" ((get $user "sii" | default dict).schemas_dir | default "") }}
{{- if $s.cafKeys.existingSecret }}
{{- $_ := set $sim "caf_signing_key" (printf "%s/%s" (include "dte-sidecar.testKeysDir" .) $s.cafKeys.privateKey) }}
{{- $_ := set $sii "extra_caf_keys" (list (include "dte-sidecar.testKeyEntry" . | fromJson)) }}
{{- end }}
{{- $cfg := dict "simulator" $sim "sii" $sii "log" (get $user "log" | default dict) "clock" (get $user "clock" | default dict) }}
{{- include "dte-sidecar.prune" $cfg }}
{{- end }}

{{/* A TOML key: bare when it can be, else quoted. */}}
{{- define "dte-sidecar.tomlKey" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{/*
A TOML value written inline: scalars with toJson (whole numbers as integers,
strings as basic strings, true/false), lists as [a, b], maps as inline tables
{ k = v } (sii.extra_caf_keys, simulator.faults.outages).
*/}}
{{- define "dte-sidecar.tomlValue" -}}
{{- if kindIs "slice" . }}
{{- $items := list }}
{{- range . }}
{{- $items = append $items (include "dte-sidecar.tomlValue" .) }}
{{- end }}
{{- printf "[%s]" (join ", " $items) }}
{{- else if kindIs "map" . }}
{{- $items := list }}
{{- range $k, $v := . }}
{{- $items = append $items (printf "%s = %s" (include "dte-sidecar.tomlKey" $k) (include "dte-sidecar.tomlValue" $v)) }}
{{- end }}
{{- printf "{ %s }" (join ", " $items) }}
{{- else }}
{{- toJson . }}
{{- end }}
{{- end }}

{{/*
Render a map as TOML. Helm's own toToml prints every number as a float (30.0,
1.048576e+07) because values arrive as float64, and the service reads its
integer settings as integers; so scalars go through dte-sidecar.tomlValue.
Nested maps become [tables]; lists (of scalars or of maps) are written inline.
Nulls and empty strings are skipped (the input is normally pruned already).
Call with (dict "prefix" "" "map" $m).
*/}}
{{- define "dte-sidecar.toml" -}}
{{- $prefix := .prefix }}
{{- $m := .map }}
{{- range $k, $v := $m }}
{{- if not (or (kindIs "map" $v) (kindIs "invalid" $v) (and (kindIs "string" $v) (eq $v ""))) }}
{{ include "dte-sidecar.tomlKey" $k }} = {{ include "dte-sidecar.tomlValue" $v }}
{{- end }}
{{- end }}
{{- range $k, $v := $m }}
{{- if kindIs "map" $v }}
{{- $name := ternary (include "dte-sidecar.tomlKey" $k) (printf "%s.%s" $prefix (include "dte-sidecar.tomlKey" $k)) (eq $prefix "") }}

[{{ $name }}]
{{- include "dte-sidecar.toml" (dict "prefix" $name "map" $v) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The server's config file, as mounted at /etc/dte-sidecar/config/config.toml. */}}
{{- define "dte-sidecar.configToml" -}}
# Rendered by the dte-sidecar Helm chart from .Values.config; do not edit in place.
# Secrets are not in this file: they come from environment variables set from a Secret.
{{- include "dte-sidecar.toml" (dict "prefix" "" "map" (include "dte-sidecar.effectiveConfig" . | fromJson)) }}
{{ end }}

{{/* The SII simulator's config file. */}}
{{- define "dte-sidecar.simulatorConfigToml" -}}
# Rendered by the dte-sidecar Helm chart from .Values.siiSimulator for `dte-sidecar sii-sim`.
{{- include "dte-sidecar.toml" (dict "prefix" "" "map" (include "dte-sidecar.simulatorConfig" . | fromJson)) }}
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
Environment of `serve` ("full") and `migrate`: where the config file is, the
database URL, and for serve every secret setting. Call with
(dict "root" $ "secretName" NAME "full" true|false).
*/}}
{{- define "dte-sidecar.env" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $k := $v.secrets.keys }}
- name: DTE_CONFIG
  value: {{ include "dte-sidecar.configDir" $root }}/config.toml
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
- name: DTE__SECRETS__MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $k.masterKey }}
{{- if $v.adminBoard.enabled }}
- name: DTE__ADMIN__BOARD_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $k.boardPassword }}
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
{{- else if (include "dte-sidecar.effectiveConfig" $root | fromJson).admin }}
# `migrate` serves nothing and gets no board password: without the board the
# settings check does not ask for one.
- name: DTE__ADMIN__BIND
  value: ""
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Checks that values make a deployable whole, mirroring the service's own
settings check where the chart can see the values; rendered (as nothing) by the
Deployment so that `helm template`/`helm install` fail early with a clear message.
*/}}
{{- define "dte-sidecar.validate" -}}
{{- $v := .Values }}
{{- $cfg := include "dte-sidecar.userConfig" . | fromJson }}
{{- $store := include "dte-sidecar.backupStore" . }}
{{- $backup := get $cfg "backup" | default dict }}
{{- $sii := get $cfg "sii" | default dict }}
{{- $env := include "dte-sidecar.siiEnvironment" . }}
{{- if hasKey $cfg "secrets" }}
{{- fail "config/extraConfig.secrets: secrets do not go in the config file; use the `secrets` values (or secrets.existingSecret)" }}
{{- end }}
{{- /* auth holds only the keys' company bindings; the keys are secrets. */}}
{{- $auth := get $cfg "auth" | default dict }}
{{- range $key := keys $auth | sortAlpha }}
{{- if ne $key "key_companies" }}
{{- fail (printf "config/extraConfig.auth.%s: secrets do not go in the config file; use the `secrets` values (or secrets.existingSecret)" $key) }}
{{- end }}
{{- end }}
{{- $keyNames := include "dte-sidecar.apiKeyNames" . | fromJsonArray }}
{{- range $name := keys (get $auth "key_companies" | default dict) | sortAlpha }}
{{- if not (has $name $keyNames) }}
{{- fail (printf "config.auth.key_companies.%s: names no API key (secrets.apiKeys or secrets.apiKeyNames)" $name) }}
{{- end }}
{{- end }}
{{- if hasKey (get $cfg "database" | default dict) "url" }}
{{- fail "config.database.url: the URL holds the password; use secrets.databaseUrl (or secrets.existingSecret)" }}
{{- end }}
{{- if hasKey $cfg "simulator" }}
{{- fail "config.simulator: the simulator's settings are siiSimulator.settings" }}
{{- end }}
{{- if and (eq $env "simulator") (not $v.siiSimulator.enabled) (not $sii.simulator_url) }}
{{- fail "config.sii.environment=simulator needs config.sii.simulator_url, or siiSimulator.enabled=true" }}
{{- end }}
{{- if and $v.siiSimulator.enabled (eq $env "production") }}
{{- fail "siiSimulator.enabled with config.sii.environment=production: the simulator is for demo and staging clusters only" }}
{{- end }}
{{- if and $v.siiSimulator.enabled (eq (int $v.siiSimulator.port) (int $v.siiSimulator.adminPort)) }}
{{- fail "siiSimulator.port and siiSimulator.adminPort must differ" }}
{{- end }}
{{- if and (eq $store "s3") (not $backup.s3_bucket) }}
{{- fail "config.backup.store=s3 needs config.backup.s3_bucket" }}
{{- end }}
{{- if and (eq $store "s3") (not $v.secrets.existingSecret) (not (and $v.secrets.s3AccessKeyId $v.secrets.s3SecretAccessKey)) }}
{{- fail "config.backup.store=s3 needs secrets.s3AccessKeyId and secrets.s3SecretAccessKey (or secrets.existingSecret)" }}
{{- end }}
{{- if and (eq $store "dir") (not (hasPrefix "/" (include "dte-sidecar.backupDir" .))) }}
{{- fail "config.backup.dir must be an absolute path (the backup volume's mount path): relative paths resolve under /app, which is read-only" }}
{{- end }}
{{- if and (eq $store "dir") $v.persistence.enabled (not $v.persistence.existingClaim) (or $v.autoscaling.enabled (gt (int $v.replicaCount) 1)) }}
{{- $shared := false }}
{{- range $v.persistence.accessModes }}{{ if eq . "ReadWriteMany" }}{{ $shared = true }}{{ end }}{{ end }}
{{- if not $shared }}
{{- fail "several replicas share the backup volume: persistence.accessModes needs ReadWriteMany (or use config.backup.store=s3, or one replica)" }}
{{- end }}
{{- end }}
{{- if and (not (kindIs "invalid" $backup.retention_years)) (lt (int $backup.retention_years) 6) }}
{{- fail "config.backup.retention_years must be at least 6 (Chilean tax law)" }}
{{- end }}
{{- $smtp := get $cfg "smtp" | default dict }}
{{- if and $smtp.host (not (trim ($smtp.to | default ""))) }}
{{- fail "config.smtp.host needs config.smtp.to (recipients, separated by commas)" }}
{{- end }}
{{- if $v.adminBoard.enabled }}
{{- if not (include "dte-sidecar.boardUser" .) }}
{{- fail "adminBoard.enabled needs config.admin.board_user" }}
{{- end }}
{{- if eq (int $v.adminBoard.containerPort) (int $v.containerPort) }}
{{- fail "adminBoard.containerPort must differ from containerPort" }}
{{- end }}
{{- if eq (int $v.service.adminPort) (int $v.service.port) }}
{{- fail "service.adminPort must differ from service.port" }}
{{- end }}
{{- end }}
{{- if and $v.secrets.boardPassword (lt (len $v.secrets.boardPassword) 12) }}
{{- fail "secrets.boardPassword needs at least 12 characters" }}
{{- end }}
{{- if and $v.autoscaling.enabled (lt (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must be >= autoscaling.minReplicas" }}
{{- end }}
{{- $limits := get $cfg "limits" | default dict }}
{{- if and $limits.max_xml_bytes $limits.max_body_bytes (gt (int64 $limits.max_xml_bytes) (int64 $limits.max_body_bytes)) }}
{{- fail "config.limits.max_xml_bytes must not exceed config.limits.max_body_bytes" }}
{{- end }}
{{- end }}
