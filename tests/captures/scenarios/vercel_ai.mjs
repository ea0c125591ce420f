// Vercel AI SDK against the fake OpenAI server (@ai-sdk/openai, baseURL; chat completions models).
// CAPTURE_AI_OTEL unset: ai 6's built-in experimental_telemetry spans (ai.*, with a tracer passed in).
// CAPTURE_AI_OTEL=1: ai 7 with @ai-sdk/otel registered (registerTelemetry(new OpenTelemetry())): GenAI-convention spans.
// OTel JS SDK: BasicTracerProvider + BatchSpanProcessor + OTLP/HTTP protobuf exporter, AsyncLocalStorage context.
// Parts: chat, stream, tool (one step: the call answered with a tool call, the tool run), embeddings (embedMany),
// error (500, 429; maxRetries 0), agent (stopWhen 3 steps: call -> tool -> call).
import fs from 'node:fs';
import * as ai from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { z } from 'zod';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';

const env = process.env;
const OTLP = env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '');
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: OTLP + '/v1/traces' }))],
});
trace.setGlobalTracerProvider(provider);
const tracer = provider.getTracer('capture');

let telemetry = { isEnabled: true, functionId: 'capture', tracer };
if (env.CAPTURE_AI_OTEL) {
  const { OpenTelemetry } = await import('@ai-sdk/otel');
  ai.registerTelemetry(new OpenTelemetry({ tracer: provider.getTracer('gen_ai') }));
  telemetry = { isEnabled: true, functionId: 'capture' };
}
const steps = ai.isStepCount ?? ai.stepCountIs;

const openai = createOpenAI({ baseURL: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY });
const CHAT = 'gpt-4o-mini';
const SYSTEM = 'You are a terse assistant.';
const weather = ai.tool({
  description: 'Current weather for a city',
  inputSchema: z.object({ city: z.string().describe('City name') }),
  execute: async ({ city }) => `Sunny and 21 C in ${city}.`,
});
const common = { maxRetries: 0, experimental_telemetry: telemetry };

const parts = [];
async function part(name, fn, expectError = false) {
  const entry = { part: name, ok: true };
  parts.push(entry);
  try {
    await fn();
    if (expectError) Object.assign(entry, { ok: false, note: 'expected an error, none was raised' });
  } catch (e) {
    if (expectError) entry.error = e?.constructor?.name ?? String(e);
    else { Object.assign(entry, { ok: false, error: String(e), traceback: String(e?.stack ?? '').slice(-2000) });
           console.error(`[scenario] part ${name} failed:`, e); }
  }
}

await part('chat', () => ai.generateText({ model: openai.chat(CHAT), system: SYSTEM,
  prompt: 'What is the capital of France? #cached', ...common }));
await part('stream', async () => {
  const r = ai.streamText({ model: openai.chat(CHAT), prompt: 'Write a haiku about monitoring.', ...common });
  for await (const _ of r.textStream) { /* drain */ }
  await r.usage;
});
await part('tool', () => ai.generateText({ model: openai.chat(CHAT), prompt: 'What is the weather in Paris?',
  tools: { get_weather: weather }, stopWhen: steps(1), ...common }));
await part('embeddings', () => ai.embedMany({ model: openai.embedding('text-embedding-3-small'),
  values: ['hello world', 'monitoring llm apps'], ...common }));
await part('error', () => ai.generateText({ model: openai.chat(CHAT), prompt: 'This call fails. #fail:500', ...common }), true);
await part('error', () => ai.generateText({ model: openai.chat(CHAT), prompt: 'This call is throttled. #fail:429', ...common }), true);
await part('agent', () => ai.generateText({ model: openai.chat(CHAT),
  system: 'You answer weather questions. Use the get_weather tool.',
  prompt: 'Should I take an umbrella in Paris today?', tools: { get_weather: weather }, stopWhen: steps(3), ...common }));

await provider.forceFlush();
await provider.shutdown();
if (env.CAPTURE_PARTS_FILE) fs.writeFileSync(env.CAPTURE_PARTS_FILE, JSON.stringify({ parts }, null, 1));
