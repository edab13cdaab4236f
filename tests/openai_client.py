"""Drives `familiar serve` with the official openai client (run by tests/it/serve.rs).
Usage: python tests/openai_client.py BASE_URL → prints one JSON object."""
import json
import sys

import openai
from openai import OpenAI

client = OpenAI(base_url=sys.argv[1], api_key="not-needed", max_retries=0)
ask = [{"role": "user", "content": "Hola, ¿cómo estás?"}]
models = sorted(m.id for m in client.models.list())
reply = client.chat.completions.create(model="Lena", messages=ask, seed=5, temperature=0, max_tokens=16)
again = client.chat.completions.create(model="lena", messages=ask, seed=5, temperature=0, max_tokens=16)
chunks = list(client.chat.completions.create(model="Lena", messages=ask, seed=5, temperature=0, max_tokens=16, stream=True))
streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
# Ada answers from her knowledge base; the sources come in the extension field.
question = [{"role": "user", "content": "Why are hackers confused by negative questions?"}]
cited = client.chat.completions.create(model="Ada", messages=question, seed=1, temperature=0, max_tokens=8)
cited_chunks = list(client.chat.completions.create(model="Ada", messages=question, seed=1, temperature=0, max_tokens=8, stream=True))
try:
    client.chat.completions.create(model="Nobody", messages=ask)
    missing = "no error"
except openai.NotFoundError as e:
    missing = e.body["message"] if isinstance(e.body, dict) else str(e)
print(json.dumps({
    "models": models,
    "reply": reply.choices[0].message.content,
    "again": again.choices[0].message.content,
    "finish_reason": reply.choices[0].finish_reason,
    "usage": {"prompt": reply.usage.prompt_tokens, "completion": reply.usage.completion_tokens},
    "streamed": streamed,
    "stream_finish": [c.choices[0].finish_reason for c in chunks if c.choices][-1],
    "missing": missing,
    "citations": cited.to_dict().get("familiar_citations"),
    "stream_citations": cited_chunks[-1].to_dict().get("familiar_citations"),
}))
