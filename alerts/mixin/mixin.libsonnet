// llmpulse monitoring mixin: _config, prometheusRules, prometheusAlerts, grafanaDashboards.
// Import it and override any knob, e.g.
//   (import 'llmpulse/alerts/mixin/mixin.libsonnet') + { _config+:: { LLMErrorRatioHighCriticalThreshold: 0.1 } }
(import 'config.libsonnet')
+ (import 'lib/rules.libsonnet')
+ (import 'lib/alerts.libsonnet')
+ (import 'dashboards.libsonnet')
