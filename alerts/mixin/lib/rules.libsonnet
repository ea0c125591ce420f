// Recording rules: the one query layer alerts and dashboards share.
// Names follow level:metric:operations; every rule keeps `job`.
local u = import 'util.libsonnet';

{
  prometheusRules+:: {
    local c = $._config,
    local L = u.levels,
    local m(name, extra='') = u.metric(c, name, extra),
    local ops = 'gen_ai_client_operation_duration_seconds_count',
    local rec(record, expr, labels={}) = { record: record, expr: expr } + (if labels == {} then {} else { labels: labels }),
    // Ratio that is 0, not absent, when the numerator has no series.
    local ratio(num, den) = '(' + num + ' or ' + den + ' * 0)\n/\n' + den,
    local sumRate(by, sel, w) = 'sum by (' + by + ') (rate(' + sel + '[' + w + ']))',
    local quantile(q, by, bucket, w) = 'histogram_quantile(' + u.num(q) + ', sum by (' + by + ', le) (rate(' + bucket + '[' + w + '])))',
    // an empty window gives no sample, not NaN (a NaN would poison avg_over_time baselines for days)
    local avg(by, metric, w) = sumRate(by, m(metric + '_sum'), w) + '\n/\n(' + sumRate(by, m(metric + '_count'), w) + ' > 0)',

    local sloWindows = std.set(['5m', '30m', '1h', '2h', '6h', '1d', '3d']
                               + [w.long for w in c.slo.windows] + [w.short for w in c.slo.windows], u.seconds),
    local sloSel = c.slo.selector,
    local sloRules(w) = [
      rec('slo:sli_error:ratio_rate' + w,
          ratio(sumRate(L.service, m(ops, std.join(', ', std.filter(function(p) p != '', [sloSel, 'error_type!=""']))), w),
                sumRate(L.service, m(ops, sloSel), w)),
          { slo: 'availability' }),
      rec('slo:sli_error:ratio_rate' + w,
          '1 - (\n%s\n/\n%s\n)' % [
            sumRate(L.service, m('gen_ai_client_operation_duration_seconds_bucket',
                                 std.join(', ', std.filter(function(p) p != '', [sloSel, u.leMatcher(c.slo.latency.thresholdSeconds)]))), w),
            sumRate(L.service, m(ops, sloSel), w),
          ],
          { slo: 'latency' }),
    ],
    local period = c.slo.period,
    local trendOps = [['retrieval', c.LLMRetrievalLatencyTrendingUpWindow], ['execute_tool', c.LLMToolLatencyTrendingUpWindow]],

    groups+: [
      {
        name: 'llmpulse.operations',
        rules: u.dedupe([
          rec('service_model:gen_ai_client_operations:rate5m', sumRate(L.service_model, m(ops), '5m')),
          rec('service_model:gen_ai_client_operation_errors:rate5m', sumRate(L.service_model, m(ops, 'error_type!=""'), '5m')),
          rec('service_model:gen_ai_client_operation_errors_per_operations:ratio_rate5m',
              ratio('service_model:gen_ai_client_operation_errors:rate5m', 'service_model:gen_ai_client_operations:rate5m')),
          rec('service:gen_ai_client_operations:rate5m', 'sum by (%s) (service_model:gen_ai_client_operations:rate5m)' % L.service),
          rec('service:gen_ai_client_operation_errors:rate5m', 'sum by (%s) (service_model:gen_ai_client_operation_errors:rate5m)' % L.service),
          rec('service:gen_ai_client_operation_errors_per_operations:ratio_rate5m',
              ratio('service:gen_ai_client_operation_errors:rate5m', 'service:gen_ai_client_operations:rate5m')),
          rec('service_model:gen_ai_client_operations:rate' + c.LLMLatencyRegressionWindow, sumRate(L.service_model, m(ops), c.LLMLatencyRegressionWindow)),
        ]),
      },
      {
        name: 'llmpulse.latency',
        rules: u.dedupe([
          rec('service_model:gen_ai_client_operation_duration_seconds:%s_rate5m' % u.quantileName(q),
              quantile(q, L.service_model, m('gen_ai_client_operation_duration_seconds_bucket'), '5m'))
          for q in [0.5, 0.95, 0.99]
        ] + [
          rec('service_model:gen_ai_client_operation_time_to_first_chunk_seconds:%s_rate5m' % u.quantileName(q),
              quantile(q, L.service_model, m('gen_ai_client_operation_time_to_first_chunk_seconds_bucket'), '5m'))
          for q in [0.5, 0.95, 0.99]
        ] + [
          rec('service_model:gen_ai_client_operation_duration_seconds:p99_rate' + c.LLMLatencyRegressionWindow,
              quantile(0.99, L.service_model, m('gen_ai_client_operation_duration_seconds_bucket'), c.LLMLatencyRegressionWindow)),
        ] + [
          // One rule per window; retrieval and tool calls share it when their windows match.
          rec('service_operation:gen_ai_client_operation_duration_seconds:p95_rate' + w,
              quantile(0.95, L.service_operation,
                       m('gen_ai_client_operation_duration_seconds_bucket',
                         'gen_ai_operation_name=~"%s"' % std.join('|', [op[0] for op in trendOps if op[1] == w])), w))
          for w in std.set([op[1] for op in trendOps])
        ]),
      },
      {
        name: 'llmpulse.cost',
        rules: u.dedupe([
          rec('service_model:llm_cost_usd:rate5m', sumRate(L.service_model, m('llm_cost_usd_total'), '5m')),
          rec('service:llm_cost_usd:rate5m', 'sum by (%s) (service_model:llm_cost_usd:rate5m)' % L.service),
          rec('service:llm_cost_usd:rate1h', sumRate(L.service, m('llm_cost_usd_total'), '1h')),
          rec('service:llm_cost_usd:increase1d', 'sum by (%s) (increase(%s[1d]))' % [L.service, m('llm_cost_usd_total')]),
          rec('service_model:llm_tokens:rate5m', sumRate(L.service_model + ', gen_ai_token_type', m('llm_tokens_total'), '5m')),
        ] + [
          rec('service_model:llm_cost_per_operation_usd:ratio_rate' + w,
              '%s\n/\n%s' % [sumRate(L.service_model, m('llm_cost_usd_total'), w), sumRate(L.service_model, m(ops), w)])
          for w in [c.LLMCostPerRequestHighWindow, c.LLMCostPerRequestHighBaselineWindow]
        ] + [
          rec('service_model:llm_unpriced_operations:increase' + c.LLMUnpricedModelWindow,
              'sum by (%s) (%s)' % [L.service_model, u.increaseWithNew(m('llm_unpriced_operations_total'), c.LLMUnpricedModelWindow)]),
          rec('service:llm_conversation_cost_usd:%s_rate%s' % [u.quantileName(c.LLMConversationCostOutlierQuantile), c.LLMConversationCostOutlierWindow],
              quantile(c.LLMConversationCostOutlierQuantile, L.service, m('llm_conversation_cost_usd_bucket'), c.LLMConversationCostOutlierWindow)),
        ] + [
          rec('service:llm_conversation_cost_usd:avg_rate' + w, avg(L.service, 'llm_conversation_cost_usd', w))
          for w in [c.LLMConversationCostOutlierBaselineWindow, c.LLMConversationCostTrendingUpWindow]
        ]),
      },
      {
        name: 'llmpulse.quality',
        rules: u.dedupe([
          rec('service_model:llm_eval_score:avg_rate' + w, avg(L.eval, 'llm_eval_score', w))
          for w in ['5m', c.LLMQualityDropWindow, '1h']
        ] + [
          rec('service_model:llm_eval_score:avg_baseline' + c.LLMQualityDropBaselineWindow,
              'avg_over_time(service_model:llm_eval_score:avg_rate1h[%s])' % c.LLMQualityDropBaselineWindow),
          rec('service_model:llm_eval_safety_failures:increase' + c.LLMSafetyEvaluationFailedWindow,
              'sum by (%s) (%s)' % [L.eval, u.increaseWithNew(
                m('llm_eval_results_total', 'gen_ai_evaluation_name=~"%s", gen_ai_evaluation_score_label=~"%s"' % [
                  std.strReplace(c.LLMSafetyEvaluationFailedNameRegex, '\\', '\\\\'),
                  std.strReplace(c.LLMSafetyEvaluationFailedFailLabelRegex, '\\', '\\\\'),
                ]), c.LLMSafetyEvaluationFailedWindow)]),
          rec('service_model:llm_feedback:increase' + c.LLMNegativeFeedbackHighWindow,
              'sum by (%s) (increase(%s[%s]))' % [L.feedback, m('llm_feedback_total'), c.LLMNegativeFeedbackHighWindow]),
          rec('service_model:llm_feedback_negative_per_feedback:ratio_rate' + c.LLMNegativeFeedbackHighWindow,
              ratio(sumRate(L.feedback, m('llm_feedback_total', 'feedback="negative"'), c.LLMNegativeFeedbackHighWindow),
                    sumRate(L.feedback, m('llm_feedback_total'), c.LLMNegativeFeedbackHighWindow))),
          rec('service_model:llm_finish_reason_length_per_finish_reasons:ratio_rate' + c.LLMTruncationHighWindow,
              ratio(sumRate(L.service_model, m('llm_finish_reasons_total', 'gen_ai_response_finish_reason="length"'), c.LLMTruncationHighWindow),
                    sumRate(L.service_model, m('llm_finish_reasons_total'), c.LLMTruncationHighWindow))),
        ]),
      },
      {
        name: 'llmpulse.agents',
        rules: [
          rec('service:llm_trace_operations:%s_rate%s' % [u.quantileName(c.LLMRunawayAgentQuantile), c.LLMRunawayAgentWindow],
              quantile(c.LLMRunawayAgentQuantile, L.service, m('llm_trace_operations_bucket'), c.LLMRunawayAgentWindow)),
        ],
      },
      {
        name: 'llmpulse.slo',
        rules: std.flattenArrays([sloRules(w) for w in sloWindows if w != period]) + [
          // The period's SLI averages the 5m SLI (Sloth style), far cheaper than rate over 30d.
          rec('slo:sli_error:ratio_rate' + period,
              'avg_over_time(slo:sli_error:ratio_rate5m{slo="%s"}[%s])' % [slo, period],
              { slo: slo })
          for slo in ['availability', 'latency']
        ] + [
          rec('slo:objective:ratio', 'vector(%s)' % u.num(c.slo[slo].objective), { slo: slo })
          for slo in ['availability', 'latency']
        ] + [
          rec('slo:error_budget:ratio', 'vector(%s)' % u.num(1 - c.slo[slo].objective), { slo: slo })
          for slo in ['availability', 'latency']
        ] + [
          rec('slo:current_burn_rate:ratio', 'slo:sli_error:ratio_rate5m\n/ on (slo) group_left ()\nslo:error_budget:ratio'),
          rec('slo:period_error_budget_remaining:ratio', '1 - slo:sli_error:ratio_rate%s\n/ on (slo) group_left ()\nslo:error_budget:ratio' % period),
        ],
      },
    ],
  },
}
