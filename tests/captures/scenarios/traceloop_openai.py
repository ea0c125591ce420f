"""OpenLLMetry (traceloop-sdk) on the openai client: the plain-client parts, and a decorated agent
(@workflow > @agent > @task, @tool) that makes two chat calls around one tool call."""

import json

import openai
from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, OPENAI_TOOL, get_weather, openai_parts, part,
                     traceloop_init, write_parts)

traceloop_init()
from traceloop.sdk.decorators import agent, task, tool, workflow  # noqa: E402

client = openai.OpenAI(max_retries=0)
openai_parts(client)


@tool(name="get_weather")
def weather_tool(city):
    return get_weather(city)


@task(name="plan")
def plan(messages):
    return client.chat.completions.create(model=CHAT_MODEL, tools=[OPENAI_TOOL], messages=messages)


@agent(name="weather")
def run_agent():
    messages = [{"role": "system", "content": AGENT_INSTRUCTIONS}, {"role": "user", "content": AGENT_PROMPT}]
    first = plan(messages)
    call = first.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": weather_tool(**json.loads(call.function.arguments))})
    return plan(messages)


@workflow(name="weather_flow")
def flow():
    return run_agent()


with part("agent"):
    flow()
from opentelemetry import trace  # noqa: E402

trace.get_tracer_provider().force_flush()
write_parts()
