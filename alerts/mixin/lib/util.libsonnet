// Small pure helpers shared by rules.libsonnet and alerts.libsonnet.
// Example: util.seconds('2h') == 7200; util.burnRateFactor(2, '30d', '1h') == 14.4.
{
  local unitSeconds = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 },

  // Seconds in a single-unit Prometheus duration ('0', '90s', '5m', '7d').
  seconds(d)::
    if d == '0' then 0
    else
      local unit = if std.endsWith(d, 'ms') then 'ms' else d[std.length(d) - 1];
      std.parseInt(std.substr(d, 0, std.length(d) - std.length(unit))) * unitSeconds[unit],

  // A number printed at fixed precision, so 14.4 * 0.005 prints 0.072.
  num(x)::
    local s = std.toString(x);
    if std.length(s) <= 10 then s else std.format('%.10g', x),

  // The one place burn-rate factors come from (Sloth's getBurnRateFactor):
  // the share of the error budget a window may consume, scaled to the period.
  // 30d: 2 % over 1h -> 14.4, 5 % over 6h -> 6, 10 % over 1d -> 3, 10 % over 3d -> 1.
  burnRateFactor(budgetPercent, period, long)::
    budgetPercent / 100 * $.seconds(period) / $.seconds(long),

  // Hours or days a full budget lasts at `factor` times the sustainable rate.
  exhaustion(period, factor)::
    local h = $.seconds(period) / 3600 / factor;
    if h >= 48 then $.num(std.round(h / 24 * 10) / 10) + 'd' else $.num(std.round(h * 10) / 10) + 'h',

  // 'p99' for 0.99, 'p999' for 0.999: quantiles in recording-rule names.
  quantileName(q):: 'p' + std.strReplace($.num(q * 100), '.', ''),

  // A metric selector with the configured matchers plus `extra`.
  metric(c, name, extra='')::
    local parts = std.filter(function(p) p != '', [c.Selector, extra]);
    if parts == [] then name else name + '{' + std.join(', ', parts) + '}',

  // Escapes regex metacharacters, for exact label values inside =~ / !~.
  regexQuote(s)::
    std.join('', [if std.member('\\.+*?()|[]{}^$', ch) then '\\\\' + ch else ch for ch in std.stringChars(s)]),

  // Label matcher on a histogram bucket boundary: le 10 matches "10" and "10.0".
  leMatcher(x)::
    local s = $.num(x);
    'le=~"' + $.regexQuote(s) + (if std.length(std.findSubstr('.', s)) == 0 && std.length(std.findSubstr('e', s)) == 0 then '(\\\\.0)?' else '') + '"',

  // Counter increase over `w` that also counts series born inside the window
  // (a counter first exposed at 1 has increase() 0, so a single failed
  // safety evaluation would otherwise never alert).
  increaseWithNew(sel, w)::
    '(' + sel + ' unless ' + sel + ' offset ' + w + ') or increase(' + sel + '[' + w + '])',

  // Keeps the first of rules that share record name and labels.
  dedupe(rules)::
    local key(r) = std.get(r, 'record', std.get(r, 'alert', '')) + std.manifestJsonMinified(std.get(r, 'labels', {})) + r.expr;
    std.foldl(function(acc, r)
                local k = key(r);
                if std.objectHas(acc.seen, k) then acc else { seen: acc.seen { [k]: true }, out: acc.out + [r] },
              rules, { seen: {}, out: [] }).out,

  // Level label sets (see docs/alerts.md): all keep `job`.
  levels:: {
    service_model: 'job, service_name, gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model',
    service: 'job, service_name',
    service_operation: 'job, service_name, gen_ai_operation_name',
    eval: 'job, service_name, gen_ai_request_model, gen_ai_evaluation_name',
    feedback: 'job, service_name, gen_ai_request_model',
    provider_model: 'job, gen_ai_provider_name, gen_ai_request_model',
    // serving engines: one series per engine instance and served model
    engine: 'job, instance, model_name, serving_engine',
  },

  // Engine metrics of vLLM and SGLang, one series per (job, instance, model_name),
  // tagged serving_engine="vllm"|"sglang". `exprs` maps engine -> expression by
  // (job, instance, model_name).
  perEngine(exprs)::
    std.join('\nor\n', [
      'label_replace(%s, "serving_engine", "%s", "", "")' % [exprs[e], e]
      for e in std.objectFields(exprs)
    ]),
}
