// Entry point for `llmpulse alerts build`: the mixin with the effective
// thresholds (packaged defaults plus the user's file) passed as ext code.
local mixin = (import 'mixin.libsonnet') + { _config+:: std.extVar('config') };
{
  rules: mixin.prometheusRules,
  alerts: mixin.prometheusAlerts,
  dashboards: std.objectFields(mixin.grafanaDashboards),
}
