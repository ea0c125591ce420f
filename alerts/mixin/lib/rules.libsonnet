// Recording rules: the one query layer alerts and dashboards share.
// Names follow level:metric:operations; every rule keeps `job`.
local u = import 'util.libsonnet';

{
  prometheusRules+:: {
    local c = $._config,
    local L = u.levels,
    local m(name, extra='') = u.metric(c, name, extra),
    local ops = 'gen_ai_client_operation_duration_seconds_count',
    // A request is a model call: CallSelector (chat, text_completion, generate_content,
    // embeddings). Call families (cost, tokens, finish reasons, TTFT) are filtered by it
    // too, which is harmless where they hold calls only and exact where they do not.
    local calls = c.CallSelector,
    local mc(name, extra='') = m(name, std.join(', ', std.filter(function(p) p != '', [calls, extra]))),
    local rec(record, expr, labels={}) = { record: record, expr: expr } + (if labels == {} then {} else { labels: labels }),
    // Ratio that is 0, not absent, when the numerator has no series, and absent, not
    // NaN, when the denominator is 0 (an idle spell): a NaN would poison every
    // average over time that reads it.
    local ratio(num, den) = '(' + num + ' or ' + den + ' * 0)\n/\n(' + den + ' > 0)',
    local sumRate(by, sel, w) = 'sum by (' + by + ') (rate(' + sel + '[' + w + ']))',
    local quantile(q, by, bucket, w) = 'histogram_quantile(' + u.num(q) + ', sum by (' + by + ', le) (rate(' + bucket + '[' + w + '])))',
    // an empty window gives no sample, not NaN (a NaN would poison avg_over_time baselines for days)
    local avg(by, metric, w) = sumRate(by, m(metric + '_sum'), w) + '\n/\n(' + sumRate(by, m(metric + '_count'), w) + ' > 0)',

    local sloWindows = std.set(['5m', '30m', '1h', '2h', '6h', '1d', '3d']
                               + [w.long for w in c.slo.windows] + [w.short for w in c.slo.windows], u.seconds),
    // Per SLO: calls per second and bad calls per second (failed, or slower than the threshold).
    local sloEvents(w) = sumRate(L.service, mc(ops), w),
    local sloBad = {
      availability(w): '(' + sumRate(L.service, mc(ops, 'error_type!=""'), w) + ' or ' + sloEvents(w) + ' * 0)',
      latency(w): sloEvents(w) + '\n-\n' + sumRate(L.service, mc('gen_ai_client_operation_duration_seconds_bucket', u.leMatcher(c.slo.latency.thresholdSeconds)), w),
    },
    local sloRules(w) = [
      rec('slo:sli_error:ratio_rate' + w, '(\n%s\n)\n/\n(%s > 0)' % [sloBad[slo](w), sloEvents(w)], { slo: slo })
      for slo in ['availability', 'latency']
    ],
    local period = c.slo.period,
    local trendOps = [['retrieval', c.LLMRetrievalLatencyTrendingUpWindow], ['execute_tool', c.LLMToolLatencyTrendingUpWindow]],

    groups+: [
      {
        name: 'llmpulse.operations',
        rules: u.dedupe([
          // Requests: model calls only.
          rec('service_model:gen_ai_client_calls:rate5m', sumRate(L.service_model, mc(ops), '5m')),
          rec('service_model:gen_ai_client_call_errors:rate5m', sumRate(L.service_model, mc(ops, 'error_type!=""'), '5m')),
          rec('service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m',
              ratio('service_model:gen_ai_client_call_errors:rate5m', 'service_model:gen_ai_client_calls:rate5m')),
          rec('service:gen_ai_client_calls:rate5m', 'sum by (%s) (service_model:gen_ai_client_calls:rate5m)' % L.service),
          rec('service:gen_ai_client_call_errors:rate5m', 'sum by (%s) (service_model:gen_ai_client_call_errors:rate5m)' % L.service),
          rec('service:gen_ai_client_call_errors_per_calls:ratio_rate5m',
              ratio('service:gen_ai_client_call_errors:rate5m', 'service:gen_ai_client_calls:rate5m')),
          // Every operation (agents, tools, workflows, retrieval too): activity and per-operation latency.
          rec('service_model:gen_ai_client_operations:rate5m', sumRate(L.service_model, m(ops), '5m')),
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
              quantile(q, L.service_model, mc('gen_ai_client_operation_time_to_first_chunk_seconds_bucket'), '5m'))
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
          rec('service_model:llm_cost_usd:rate5m', sumRate(L.service_model, mc('llm_cost_usd_total'), '5m')),
          rec('service:llm_cost_usd:rate5m', 'sum by (%s) (service_model:llm_cost_usd:rate5m)' % L.service),
          rec('service:llm_cost_usd:rate1h', sumRate(L.service, mc('llm_cost_usd_total'), '1h')),
          rec('service:llm_cost_usd:increase1d', 'sum by (%s) (increase(%s[1d]))' % [L.service, mc('llm_cost_usd_total')]),
          rec('service_model:llm_tokens:rate5m', sumRate(L.service_model + ', gen_ai_token_type', mc('llm_tokens_total'), '5m')),
        ] + [
          rec('service_model:llm_cost_per_call_usd:ratio_rate' + w,
              '%s\n/\n(%s > 0)' % [sumRate(L.service_model, mc('llm_cost_usd_total'), w), sumRate(L.service_model, mc(ops), w)])
          for w in [c.LLMCostPerRequestHighWindow, c.LLMCostPerRequestHighBaselineWindow]
        ] + [
          rec('service_model:llm_unpriced_operations:increase' + c.LLMUnpricedModelWindow,
              'sum by (%s) (%s)' % [L.service_model, u.increaseWithNew(mc('llm_unpriced_operations_total'), c.LLMUnpricedModelWindow)]),
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
          for w in std.set(['5m', c.LLMQualityDropCriticalWindow, c.LLMQualityDropWindow, '1h'], u.seconds)
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
              ratio(sumRate(L.service_model, mc('llm_finish_reasons_total', 'gen_ai_response_finish_reason="length"'), c.LLMTruncationHighWindow),
                    sumRate(L.service_model, mc('llm_finish_reasons_total'), c.LLMTruncationHighWindow))),
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
        // Self-hosted serving engines (vLLM 0.11, SGLang 0.5), from their own /metrics.
        name: 'llmpulse.engines',
        local by = 'job, instance, model_name',
        local engineSel(name) = m(name),
        rules: [
          rec('engine:llm_engine_kv_cache_usage:ratio', u.perEngine({
            vllm: 'max by (%s) (%s)' % [by, engineSel('vllm:kv_cache_usage_perc')],
            sglang: 'max by (%s) (%s)' % [by, engineSel('sglang:token_usage')],
          })),
          rec('engine:llm_engine_requests_waiting:sum', u.perEngine({
            vllm: 'sum by (%s) (%s)' % [by, engineSel('vllm:num_requests_waiting')],
            sglang: 'sum by (%s) (%s)' % [by, engineSel('sglang:num_queue_reqs')],
          })),
          rec('engine:llm_engine_requests_running:sum', u.perEngine({
            vllm: 'sum by (%s) (%s)' % [by, engineSel('vllm:num_requests_running')],
            sglang: 'sum by (%s) (%s)' % [by, engineSel('sglang:num_running_reqs')],
          })),
        ] + [
          rec('engine:llm_engine_time_to_first_token_slow:ratio_rate' + w, u.perEngine({
            [e]: '1 - (\n  sum by (%(by)s) (rate(%(b)s[%(w)s]))\n  /\n  (sum by (%(by)s) (rate(%(c)s[%(w)s])) > 0)\n)' % {
              by: by, w: w,
              b: m('%s:time_to_first_token_seconds_bucket' % e, u.leMatcher(c.LLMEngineTimeToFirstTokenThresholdSeconds)),
              c: m('%s:time_to_first_token_seconds_count' % e),
            }
            for e in ['vllm', 'sglang']
          }))
          for w in sloWindows
        ],
      },
      {
        name: 'llmpulse.slo',
        rules: std.flattenArrays([sloRules(w) for w in sloWindows if w != period]) + [
          rec('slo:sli_events:rate5m', sloEvents('5m'), { slo: slo })
          for slo in ['availability', 'latency']
        ] + [
          rec('slo:sli_error_events:rate5m', sloBad[slo]('5m'), { slo: slo })
          for slo in ['availability', 'latency']
        ] + [
          // The period's SLI sums the 5m event rates (far cheaper than a rate over 30d).
          // Every call weighs the same: an idle spell adds nothing, and no average of
          // ratios can be poisoned by the NaN of an idle window.
          rec('slo:sli_error:ratio_rate' + period,
              'sum_over_time(slo:sli_error_events:rate5m{slo="%(s)s"}[%(p)s])\n/\n(sum_over_time(slo:sli_events:rate5m{slo="%(s)s"}[%(p)s]) > 0)'
              % { s: slo, p: period },
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
