// Alerting rules in three tiers on the `severity` label:
// critical = page now, warning = chat (act within the hour), info = daily digest.
// Where a condition has two tiers, one alertname carries both severities.
local u = import 'util.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local L = u.levels,
    local m(name, extra='') = u.metric(c, name, extra),
    local pct(x) = u.num(x * 100) + '%',

    // Dashboard variables set from the alert's labels.
    local dashboardURL(uid, scope) =
      local vars = (if std.member(scope, 'service_name') then ['var-service={{ $labels.service_name }}'] else [])
                   + (if std.member(scope, 'gen_ai_request_model') then ['var-model={{ $labels.gen_ai_request_model }}'] else [])
                   + (if std.member(scope, 'model_name') then ['var-model={{ $labels.model_name }}', 'var-instance={{ $labels.instance }}'] else []);
      c.GrafanaURL + '/d/' + uid + (if vars == [] then '' else '?' + std.join('&', vars)),

    // One alerting rule. `scope` lists the labels it is kept by (for the dashboard link).
    local alert(name, severity, expr, forDuration, summary, description, dashboard, scope=[], labels={}) = {
      alert: name,
      expr: expr,
      labels: { severity: severity } + labels,
      annotations: {
        summary: summary,
        description: description,
        runbook_url: c.RunbookURLBase + '#' + std.asciiLower(name),
        dashboard_url: dashboardURL(dashboard, scope),
      },
    } + (if u.seconds(forDuration) > 0 then { 'for': forDuration } else {}),

    local SM = ['service_name', 'gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'],
    local S = ['service_name'],
    local EV = ['service_name', 'gen_ai_request_model', 'gen_ai_evaluation_name'],
    local who = '{{ $labels.service_name }} {{ $labels.gen_ai_operation_name }} on {{ $labels.gen_ai_provider_name }}/{{ $labels.gen_ai_request_model }}',
    // `history` old samples of `series`, so a baseline never fires on a cold start.
    local hasHistory(by, series, history) =
      if u.seconds(history) == 0 then '' else 'and on (%s)\n(%s offset %s)' % [by, series, history],

    local errorRatio(sev) =
      local t = c['LLMErrorRatioHigh%sThreshold' % sev];
      alert('LLMErrorRatioHigh', std.asciiLower(sev),
            'service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m > %s\nand on (%s)\nservice_model:gen_ai_client_calls:rate5m > %s\nand on (%s)\nservice_model:gen_ai_client_call_errors:rate5m * 300 >= %s'
            % [u.num(t), L.service_model, u.num(c.LLMErrorRatioHighMinOperationsPerSecond), L.service_model, u.num(c.LLMErrorRatioHighMinErrors)],
            c['LLMErrorRatioHigh%sFor' % sev],
            'LLM calls are failing at an unusual rate.',
            '%s: {{ $value | humanizePercentage }} of calls failed over the last 5m (threshold %s).' % [who, pct(t)],
            'llmpulse-overview', SM),

    local ttft(sev) =
      local t = c['LLMTimeToFirstTokenHigh%sThreshold' % sev];
      alert('LLMTimeToFirstTokenHigh', std.asciiLower(sev),
            'service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p99_rate5m > %s' % u.num(t),
            c['LLMTimeToFirstTokenHigh%sFor' % sev],
            'Streamed LLM responses are slow to start.',
            '%s: p99 time to first token is {{ $value | humanizeDuration }} over the last 5m (threshold %ss).' % [who, u.num(t)],
            'llmpulse-latency', SM),

    // Warning: the Window mean is WarningThreshold below the baseline. Critical (a
    // collapse): the CriticalWindow mean is CriticalThreshold below and the Window mean
    // WarningThreshold below, each with enough scores.
    local qualityDrop(sev) =
      local t = c['LLMQualityDrop%sThreshold' % sev];
      local drop(w, th) = '1 - (\nservice_model:llm_eval_score:avg_rate%s\n/\nservice_model:llm_eval_score:avg_baseline%s\n) > %s' % [w, c.LLMQualityDropBaselineWindow, u.num(th)];
      local enough(w, n) = 'and on (%s)\nsum by (%s) (increase(%s[%s])) >= %s' % [L.eval, L.eval, m('llm_eval_score_count'), w, u.num(n)];
      local window = if sev == 'Critical' then c.LLMQualityDropCriticalWindow else c.LLMQualityDropWindow;
      alert('LLMQualityDrop', std.asciiLower(sev),
            std.join('\n', [drop(window, t)]
                           + (if sev == 'Critical' then ['and on (%s)\n(%s)' % [L.eval, drop(c.LLMQualityDropWindow, c.LLMQualityDropWarningThreshold)],
                                                        enough(c.LLMQualityDropCriticalWindow, c.LLMQualityDropCriticalMinScores)] else [])
                           + [hasHistory(L.eval, 'service_model:llm_eval_score:avg_rate1h', c.LLMQualityDropMinHistory),
                              enough(c.LLMQualityDropWindow, c.LLMQualityDropMinScores)]),
            c['LLMQualityDrop%sFor' % sev],
            'LLM evaluation scores dropped below their baseline.',
            '{{ $labels.service_name }} {{ $labels.gen_ai_request_model }}: mean {{ $labels.gen_ai_evaluation_name }} score over %s is {{ $value | humanizePercentage }} below its %s baseline (threshold %s).'
            % [window, c.LLMQualityDropBaselineWindow, pct(t)],
            'llmpulse-quality', EV),

    local sloBurn(slo, name, w) =
      local factor = u.burnRateFactor(w.budgetPercent, c.slo.period, w.long);
      local budget = 1 - c.slo[slo].objective;
      local bound = u.num(factor * budget);
      alert(name, w.severity,
            'slo:sli_error:ratio_rate%(long)s{slo="%(slo)s"} > %(b)s\nand on (%(by)s)\nslo:sli_error:ratio_rate%(short)s{slo="%(slo)s"} > %(b)s'
            % { long: w.long, short: w.short, slo: slo, b: bound, by: L.service },
            w['for'],
            'The %s error budget is burning too fast.' % slo,
            '{{ $labels.service_name }}: %s SLO (%s over %s) error ratio is {{ $value | humanizePercentage }} over %s and above %s over %s too, %sx the sustainable rate; at this rate the budget lasts %s.'
            % [slo, pct(c.slo[slo].objective), c.slo.period, w.long, pct(factor * budget), w.short, u.num(factor), u.exhaustion(c.slo.period, factor)],
            'llmpulse-slo', S,
            { slo: slo, long: w.long, short: w.short, exhaustion: u.exhaustion(c.slo.period, factor) }),

    local ENG = ['model_name'],
    local engineWho = '{{ $labels.serving_engine }} {{ $labels.instance }} ({{ $labels.model_name }})',
    local engineTTFTBurn(w) =
      local factor = u.burnRateFactor(w.budgetPercent, c.slo.period, w.long);
      local bound = u.num(factor * (1 - c.LLMEngineTimeToFirstTokenObjective));
      local sli = 'engine:llm_engine_time_to_first_token_slow:ratio_rate';
      alert('LLMEngineTimeToFirstTokenBurn', w.severity,
            '%(s)s%(long)s > %(b)s\nand on (%(by)s)\n%(s)s%(short)s > %(b)s' % { s: sli, long: w.long, short: w.short, b: bound, by: L.engine },
            w['for'],
            'A serving engine is burning its time-to-first-token objective too fast.',
            '%s: {{ $value | humanizePercentage }} of requests waited more than %ss for their first token over %s and above %s over %s too (objective %s within %ss), %sx the sustainable rate; at this rate the budget lasts %s.'
            % [engineWho, u.num(c.LLMEngineTimeToFirstTokenThresholdSeconds), w.long, pct(factor * (1 - c.LLMEngineTimeToFirstTokenObjective)), w.short,
               pct(c.LLMEngineTimeToFirstTokenObjective), u.num(c.LLMEngineTimeToFirstTokenThresholdSeconds), u.num(factor), u.exhaustion(c.slo.period, factor)],
            'llmpulse-engines', ENG,
            { long: w.long, short: w.short, exhaustion: u.exhaustion(c.slo.period, factor) }),

    // Per-service budgets and per-model quotas render into ONE rule per alert:
    // `or` of one comparison per value, the description picking the value by
    // label. (One rule per override shares alertname and labels with the others,
    // which promtool's lint reports as duplicates.)
    // `parts` are [label value or null for the rest, threshold] pairs.
    local byLabel(label, parts) =
      local named = [p for p in parts if p[0] != null];
      local rest = [p[1] for p in parts if p[0] == null];
      if std.length(parts) == 1 then u.num(parts[0][1])
      else
        std.join('', ['{{ %sif eq $labels.%s "%s" }}%s' % [if i == 0 then '' else 'else ', label, named[i][0], u.num(named[i][1])]
                      for i in std.range(0, std.length(named) - 1)])
        + (if rest == [] then '' else '{{ else }}' + u.num(rest[0]))
        + '{{ end }}',
    local overrideParts(per, default) =
      local keys = std.objectFields(per);
      [[k, per[k]] for k in keys if per[k] > 0]
      + (if default > 0 then [[null, default]] else []),
    local notIn(label, keys) = if keys == [] then '' else '%s!~"%s"' % [label, std.join('|', [u.regexQuote(k) for k in keys])],

    local budgetRules =
      local b = c.LLMDailyBudgetExceededThresholdUSD;
      local parts = overrideParts(b.per_service, b.default);
      local selector(p) =
        if p[0] != null then '{service_name="%s"}' % p[0]
        else local m = notIn('service_name', std.objectFields(b.per_service)); if m == '' then '' else '{%s}' % m;
      if parts == [] then [] else [alert(
        'LLMDailyBudgetExceeded', 'warning',
        std.join('\nor\n', ['service:llm_cost_usd:increase1d%s > %s' % [selector(p), u.num(p[1])] for p in parts]),
        c.LLMDailyBudgetExceededFor,
        'LLM spend over the last 24 hours is above its budget.',
        '{{ $labels.service_name }} spent {{ $value | printf "%%.2f" }} USD over the last 24h (budget %s USD).' % byLabel('service_name', parts),
        'llmpulse-cost', S)],

    local quotaRules =
      local q = c.LLMTokenQuotaNearlyExhaustedTokensPerMinute;
      local parts = overrideParts(q.per_model, q.default);
      local tokens(extra) = m('llm_tokens_total', std.join(', ', ['gen_ai_token_type=~"input|output"'] + (if extra == '' then [] else [extra])));
      local selector(p) =
        if p[0] != null then 'gen_ai_request_model="%s"' % p[0] else notIn('gen_ai_request_model', std.objectFields(q.per_model));
      if parts == [] then [] else [alert(
        'LLMTokenQuotaNearlyExhausted', 'warning',
        std.join('\nor\n', ['sum by (%s) (rate(%s[%s])) * 60 / %s > %s'
                              % [L.provider_model, tokens(selector(p)), c.LLMTokenQuotaNearlyExhaustedWindow, u.num(p[1]), u.num(c.LLMTokenQuotaNearlyExhaustedThreshold)]
                              for p in parts]),
        c.LLMTokenQuotaNearlyExhaustedFor,
        'LLM token use is close to its quota.',
        '{{ $labels.gen_ai_provider_name }}/{{ $labels.gen_ai_request_model }} uses {{ $value | humanizePercentage }} of its %s tokens/minute quota (threshold %s).'
        % [byLabel('gen_ai_request_model', parts), pct(c.LLMTokenQuotaNearlyExhaustedThreshold)],
        'llmpulse-cost', ['gen_ai_request_model'])],

    local trend(name, series, window, offset, factor, what, valueFmt, dashboard, scope) = alert(
      name, 'info',
      '%(s)s\n> %(f)s *\n(%(s)s offset %(o)s)' % { s: series, f: u.num(factor), o: offset },
      c[name + 'For'],
      '%s is trending up.' % what,
      '{{ $labels.service_name }}: %s over the last %s is %s, more than %sx the same window %s earlier.'
      % [what, window, valueFmt, u.num(factor), offset],
      dashboard, scope),

    groups+: [
      {
        name: 'llmpulse.tier1',
        rules: [
          errorRatio('Critical'),
          errorRatio('Warning'),
          ttft('Critical'),
          ttft('Warning'),
          alert('LLMSafetyEvaluationFailed', 'critical',
                'service_model:llm_eval_safety_failures:increase%s > %s'
                % [c.LLMSafetyEvaluationFailedWindow, u.num(c.LLMSafetyEvaluationFailedThreshold)],
                c.LLMSafetyEvaluationFailedFor,
                'A safety evaluation of an LLM response failed.',
                '{{ $labels.service_name }} {{ $labels.gen_ai_request_model }}: {{ $value | printf "%%.0f" }} {{ $labels.gen_ai_evaluation_name }} evaluations failed over the last %s (threshold %s).'
                % [c.LLMSafetyEvaluationFailedWindow, u.num(c.LLMSafetyEvaluationFailedThreshold)],
                'llmpulse-quality', EV),
          qualityDrop('Critical'),
          qualityDrop('Warning'),
        ] + [
          sloBurn(slo, name, w)
          for slo in ['availability', 'latency']
          for w in c.slo.windows
          for name in [if slo == 'availability' then 'LLMAvailabilitySLOBurn' else 'LLMLatencySLOBurn']
        ] + [
          alert('LLMTelemetryAbsent', 'critical',
                '(sum by (%(by)s) (rate(%(m)s[%(b)s] offset %(w)s)) >= %(min)s)\nunless on (%(by)s)\n(sum by (%(by)s) (increase(%(m)s[%(w)s])) > 0)'
                % { by: L.service, m: m('gen_ai_client_operation_duration_seconds_count', c.CallSelector), b: c.LLMTelemetryAbsentBaselineWindow,
                    w: c.LLMTelemetryAbsentWindow, min: u.num(c.LLMTelemetryAbsentMinCallsPerSecond) },
                c.LLMTelemetryAbsentFor,
                'A service that was sending LLM telemetry has gone silent.',
                '{{ $labels.service_name }} (job {{ $labels.job }}) made {{ $value | printf "%%.2f" }} calls/s over the %s before, and none over the last %s: the app or the pipeline is down.'
                % [c.LLMTelemetryAbsentBaselineWindow, c.LLMTelemetryAbsentWindow],
                'llmpulse-overview', S),
        ],
      },
      {
        name: 'llmpulse.tier2',
        rules: [
          alert('LLMCostPerRequestHigh', 'warning',
                // The baseline ends where the current window starts, so a spike never dilutes its own baseline.
                'service_model:llm_cost_per_call_usd:ratio_rate%(w)s\n> %(f)s * (service_model:llm_cost_per_call_usd:ratio_rate%(b)s offset %(w)s)\n%(h)s'
                % { w: c.LLMCostPerRequestHighWindow, b: c.LLMCostPerRequestHighBaselineWindow, f: u.num(c.LLMCostPerRequestHighFactor),
                    h: hasHistory(L.service_model, 'service_model:llm_cost_per_call_usd:ratio_rate' + c.LLMCostPerRequestHighBaselineWindow, c.LLMCostPerRequestHighMinHistory) },
                c.LLMCostPerRequestHighFor,
                'LLM cost per request is well above its daily baseline.',
                '%s: mean cost per call over %s is {{ $value | printf "%%.4f" }} USD, above %sx its %s mean.'
                % [who, c.LLMCostPerRequestHighWindow, u.num(c.LLMCostPerRequestHighFactor), c.LLMCostPerRequestHighBaselineWindow],
                'llmpulse-cost', SM),
          alert('LLMSpendSpike', 'warning',
                // The rolling mean ends an hour ago, where the current hour starts.
                '(service:llm_cost_usd:rate1h * 3600)\n> %(f)s * 3600 * avg_over_time(service:llm_cost_usd:rate1h[%(b)s] offset 1h)\nand on (%(by)s)\n(service:llm_cost_usd:rate1h * 3600) > %(min)s\n%(h)s'
                % { f: u.num(c.LLMSpendSpikeFactor), b: c.LLMSpendSpikeBaselineWindow, by: L.service, min: u.num(c.LLMSpendSpikeMinUSDPerHour),
                    h: hasHistory(L.service, 'service:llm_cost_usd:rate1h', c.LLMSpendSpikeMinHistory) },
                c.LLMSpendSpikeFor,
                'Hourly LLM spend spiked above its rolling average.',
                '{{ $labels.service_name }} spent {{ $value | printf "%%.2f" }} USD over the last hour, above %sx its %s hourly mean.'
                % [u.num(c.LLMSpendSpikeFactor), c.LLMSpendSpikeBaselineWindow],
                'llmpulse-cost', S),
        ] + budgetRules + [
          alert('LLMNegativeFeedbackHigh', 'warning',
                'service_model:llm_feedback_negative_per_feedback:ratio_rate%(w)s > %(t)s\nand on (%(by)s)\nservice_model:llm_feedback:increase%(w)s >= %(n)s'
                % { w: c.LLMNegativeFeedbackHighWindow, t: u.num(c.LLMNegativeFeedbackHighThreshold), by: L.feedback, n: u.num(c.LLMNegativeFeedbackHighMinFeedback) },
                c.LLMNegativeFeedbackHighFor,
                'Users are giving an unusual share of negative feedback.',
                '{{ $labels.service_name }} {{ $labels.gen_ai_request_model }}: {{ $value | humanizePercentage }} of feedback over the last %s was negative (threshold %s).'
                % [c.LLMNegativeFeedbackHighWindow, pct(c.LLMNegativeFeedbackHighThreshold)],
                'llmpulse-quality', ['service_name', 'gen_ai_request_model']),
          alert('LLMTruncationHigh', 'warning',
                'service_model:llm_finish_reason_length_per_finish_reasons:ratio_rate%s > %s' % [c.LLMTruncationHighWindow, u.num(c.LLMTruncationHighThreshold)],
                c.LLMTruncationHighFor,
                'Many LLM responses are cut off by the token limit.',
                '%s: {{ $value | humanizePercentage }} of responses over the last %s ended with finish reason length (threshold %s).'
                % [who, c.LLMTruncationHighWindow, pct(c.LLMTruncationHighThreshold)],
                'llmpulse-quality', SM),
          alert('LLMLatencyRegression', 'warning',
                '%(p)s\n> %(f)s * (%(p)s offset %(o)s)\nand on (%(by)s)\n%(r)s > %(min)s\nand on (%(by)s)\n(%(r)s offset %(o)s) > %(min)s'
                % { p: 'service_model:gen_ai_client_operation_duration_seconds:p99_rate' + c.LLMLatencyRegressionWindow,
                    r: 'service_model:gen_ai_client_operations:rate' + c.LLMLatencyRegressionWindow,
                    f: u.num(c.LLMLatencyRegressionFactor), o: c.LLMLatencyRegressionCompareOffset, by: L.service_model,
                    min: u.num(c.LLMLatencyRegressionMinOperationsPerSecond) },
                c.LLMLatencyRegressionFor,
                'LLM latency regressed against the same time last week.',
                '%s: p99 latency over %s is {{ $value | humanizeDuration }}, more than %sx the same window %s earlier.'
                % [who, c.LLMLatencyRegressionWindow, u.num(c.LLMLatencyRegressionFactor), c.LLMLatencyRegressionCompareOffset],
                'llmpulse-latency', SM),
        ] + quotaRules + [
          alert('LLMUnpricedModel', 'warning',
                'service_model:llm_unpriced_operations:increase%s > %s' % [c.LLMUnpricedModelWindow, u.num(c.LLMUnpricedModelThreshold)],
                c.LLMUnpricedModelFor,
                'Calls have no known cost (a model with no price, or no token counts), so spend is under-counted.',
                '%s: {{ $value | printf "%%.0f" }} calls over the last %s could not be priced: no price in the price table, or no token counts on the span (a stream without include_usage).' % [who, c.LLMUnpricedModelWindow],
                'llmpulse-cost', SM),
          alert('LLMRunawayAgent', 'warning',
                'service:llm_trace_operations:%s_rate%s > %s'
                % [u.quantileName(c.LLMRunawayAgentQuantile), c.LLMRunawayAgentWindow, u.num(c.LLMRunawayAgentMaxOperationsPerTrace)],
                c.LLMRunawayAgentFor,
                'Agent traces make far more LLM calls than expected.',
                '{{ $labels.service_name }}: %s of LLM calls per trace over the last %s is {{ $value | printf "%%.0f" }} (bound %s).'
                % [u.quantileName(c.LLMRunawayAgentQuantile), c.LLMRunawayAgentWindow, u.num(c.LLMRunawayAgentMaxOperationsPerTrace)],
                'llmpulse-agents', S),
          alert('LLMConversationCostOutlier', 'warning',
                '%(q)s\n> %(f)s * %(b)s\n%(h)s'
                % { q: 'service:llm_conversation_cost_usd:%s_rate%s' % [u.quantileName(c.LLMConversationCostOutlierQuantile), c.LLMConversationCostOutlierWindow],
                    b: 'service:llm_conversation_cost_usd:avg_rate' + c.LLMConversationCostOutlierBaselineWindow,
                    f: u.num(c.LLMConversationCostOutlierFactor),
                    h: hasHistory(L.service, 'service:llm_conversation_cost_usd:avg_rate' + c.LLMConversationCostOutlierBaselineWindow, c.LLMConversationCostOutlierMinHistory) },
                c.LLMConversationCostOutlierFor,
                'Some conversations cost far more than the average conversation.',
                '{{ $labels.service_name }}: %s conversation cost over the last %s is {{ $value | printf "%%.4f" }} USD, above %sx the %s mean.'
                % [u.quantileName(c.LLMConversationCostOutlierQuantile), c.LLMConversationCostOutlierWindow, u.num(c.LLMConversationCostOutlierFactor), c.LLMConversationCostOutlierBaselineWindow],
                'llmpulse-cost', S),
        ],
      },
      {
        name: 'llmpulse.engines.alerts',
        rules: [
          alert('LLMEngineKVCacheNearlyFull', 'warning',
                'avg_over_time(engine:llm_engine_kv_cache_usage:ratio[%s]) > %s'
                % [c.LLMEngineKVCacheNearlyFullWindow, u.num(c.LLMEngineKVCacheNearlyFullThreshold)],
                c.LLMEngineKVCacheNearlyFullFor,
                'A serving engine has almost no KV cache left.',
                '%s: {{ $value | humanizePercentage }} of the KV cache in use on average over the last %s (threshold %s); new requests queue and running ones get preempted.'
                % [engineWho, c.LLMEngineKVCacheNearlyFullWindow, pct(c.LLMEngineKVCacheNearlyFullThreshold)],
                'llmpulse-engines', ENG),
          alert('LLMEngineQueueGrowing', 'warning',
                'deriv(engine:llm_engine_requests_waiting:sum[%(w)s]) * 60 > %(g)s\nand on (%(by)s)\nmin_over_time(engine:llm_engine_requests_waiting:sum[%(w)s]) >= %(n)s'
                % { w: c.LLMEngineQueueGrowingWindow, n: u.num(c.LLMEngineQueueGrowingMinWaiting), by: L.engine,
                    g: u.num(c.LLMEngineQueueGrowingMinGrowthPerMinute) },
                c.LLMEngineQueueGrowingFor,
                'Requests are piling up in a serving engine queue.',
                '%s: at least %s requests waited at every moment of the last %s, and the queue grows by {{ $value | printf "%%.1f" }} requests a minute (threshold %s).'
                % [engineWho, u.num(c.LLMEngineQueueGrowingMinWaiting), c.LLMEngineQueueGrowingWindow, u.num(c.LLMEngineQueueGrowingMinGrowthPerMinute)],
                'llmpulse-engines', ENG),
        ] + [engineTTFTBurn(w) for w in c.slo.windows],
      },
      {
        name: 'llmpulse.tier3',
        rules: [
          trend('LLMRetrievalLatencyTrendingUp',
                'service_operation:gen_ai_client_operation_duration_seconds:p95_rate%s{gen_ai_operation_name="retrieval"}' % c.LLMRetrievalLatencyTrendingUpWindow,
                c.LLMRetrievalLatencyTrendingUpWindow, c.LLMRetrievalLatencyTrendingUpCompareOffset, c.LLMRetrievalLatencyTrendingUpFactor,
                'Retrieval latency (p95)', '{{ $value | humanizeDuration }}', 'llmpulse-latency', S),
          trend('LLMToolLatencyTrendingUp',
                'service_operation:gen_ai_client_operation_duration_seconds:p95_rate%s{gen_ai_operation_name="execute_tool"}' % c.LLMToolLatencyTrendingUpWindow,
                c.LLMToolLatencyTrendingUpWindow, c.LLMToolLatencyTrendingUpCompareOffset, c.LLMToolLatencyTrendingUpFactor,
                'Tool latency (p95)', '{{ $value | humanizeDuration }}', 'llmpulse-agents', S),
          trend('LLMConversationCostTrendingUp',
                'service:llm_conversation_cost_usd:avg_rate' + c.LLMConversationCostTrendingUpWindow,
                c.LLMConversationCostTrendingUpWindow, c.LLMConversationCostTrendingUpCompareOffset, c.LLMConversationCostTrendingUpFactor,
                'Mean cost per conversation', '{{ $value | printf "%.4f" }} USD', 'llmpulse-cost', S),
          alert('LLMExporterLabelOverflow', 'info',
                'sum by (job, instance, label) (%s) > %s'
                % [u.increaseWithNew(m('llmpulse_label_overflows_total'), c.LLMExporterLabelOverflowWindow), u.num(c.LLMExporterLabelOverflowThreshold)],
                c.LLMExporterLabelOverflowFor,
                'The exporter folded label values into __overflow__ because a label hit its cap.',
                '{{ $labels.instance }}: {{ $value | printf "%%.0f" }} values of label {{ $labels.label }} overflowed over the last %s; series for them are merged into __overflow__.'
                % c.LLMExporterLabelOverflowWindow,
                'llmpulse-exporter'),
          alert('LLMExporterRejectingSpans', 'info',
                'sum by (job, instance, reason) (%s) > %s'
                % [u.increaseWithNew(m('llmpulse_spans_rejected_total'), c.LLMExporterRejectingSpansWindow), u.num(c.LLMExporterRejectingSpansThreshold)],
                c.LLMExporterRejectingSpansFor,
                'The exporter is rejecting spans it received.',
                '{{ $labels.instance }}: {{ $value | printf "%%.0f" }} spans were rejected over the last %s (reason {{ $labels.reason }}).'
                % c.LLMExporterRejectingSpansWindow,
                'llmpulse-exporter'),
          alert('LLMPriceTableStale', 'info',
                'time() - %s > %s' % [m('llmpulse_price_table_checked_timestamp_seconds'), u.num(u.seconds(c.LLMPriceTableStaleMaxAge))],
                c.LLMPriceTableStaleFor,
                'The model price table has not been checked for a long time.',
                '{{ $labels.instance }}: the price table was last checked {{ $value | humanizeDuration }} ago (limit %s); costs may be wrong.'
                % c.LLMPriceTableStaleMaxAge,
                'llmpulse-exporter'),
          alert('Watchdog', 'info', 'vector(1)', '0',
                'An alert that always fires, to prove the alerting pipeline works.',
                'This alert always fires. If it stops arriving at the Watchdog receiver, Prometheus, Alertmanager or the path between them is broken.',
                'llmpulse-overview'),
        ],
      },
    ],
  },
}
