"""The AsyncAPI document as a page, rendered on the server: no script, no CDN, one style."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem;
       color: #1d2430; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ccd; margin-top: 2.5rem; }
code, pre { font: 13px/1.4 ui-monospace, monospace; }
pre { background: #f5f6f8; padding: .6rem; overflow-x: auto; margin: 0; }
table { border-collapse: collapse; width: 100%; }
td, th { border-top: 1px solid #e2e4ea; padding: .4rem; text-align: left; vertical-align: top; }
.send { color: #0b6b2f; font-weight: 600; } .receive { color: #0b4f8a; font-weight: 600; }
details summary { cursor: pointer; }
nav a { margin-right: 1rem; }
"""


SCHEMA_REF = re.compile(r"&quot;#/components/schemas/([\w.-]+)&quot;")


def _schema(value: Any) -> str:
    """The schema as JSON, each reference to a named schema a link to it below."""
    text = escape(json.dumps(value, indent=2, ensure_ascii=False))
    return "<pre>" + SCHEMA_REF.sub(r'<a href="#schema-\1">&quot;\1&quot;</a>', text) + "</pre>"


def _message(channel: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    message: dict[str, Any] = channel["messages"][ref["$ref"].rsplit("/", 1)[1]]
    return message


def _replies(channel: dict[str, Any], operation: dict[str, Any]) -> str:
    reply = operation.get("reply")
    if reply is None:
        return ""
    return "".join(
        f"<details><summary>reply: {escape(message['name'])}</summary>"
        f"{_schema(message['payload'])}</details>"
        for message in (_message(channel, ref) for ref in reply["messages"])
    )


def _channel(key: str, channel: dict[str, Any], operations: dict[str, Any]) -> str:
    ref = f"#/channels/{key}"
    rows = []
    for operation in operations.values():
        if operation["channel"]["$ref"] != ref:
            continue
        action = operation["action"]
        for message_ref in operation["messages"]:
            message = _message(channel, message_ref)
            rows.append(
                f"<tr><td class={action}>{action}</td><td><code>{escape(message['name'])}"
                f"</code></td><td>{escape(message['summary'])}</td><td><details><summary>"
                f"payload</summary>{_schema(message['payload'])}</details>"
                f"{_replies(channel, operation)}</td></tr>"
            )
    return (
        f"<h2 id={escape(key)}>{escape(channel['address'])} <small>({escape(key)})</small></h2>"
        f"<p>{escape(channel['description'])}</p><table><tr><th>direction</th><th>name</th>"
        f"<th>what</th><th>payload (and reply)</th></tr>{''.join(rows)}</table>"
    )


def render_asyncapi(document: dict[str, Any]) -> str:
    info = document["info"]
    channels = document["channels"]
    nav = "".join(f'<a href="#{escape(k)}">{escape(c["address"])}</a>' for k, c in channels.items())
    servers = "".join(
        f"<li><b>{escape(name)}</b>: {escape(s['protocol'])}://{escape(s['host'])}"
        f"{escape(s.get('pathname', ''))} — {escape(s['description'])}</li>"
        for name, s in document["servers"].items()
    )
    body = "".join(_channel(k, c, document["operations"]) for k, c in channels.items())
    schemas = "".join(
        f"<details id=schema-{escape(name)}><summary><code>{escape(name)}</code></summary>"
        f"{_schema(schema)}</details>"
        for name, schema in document["components"]["schemas"].items()
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{escape(info["title"])} — AsyncAPI</title>
<style>{STYLE}</style></head>
<body>
<h1>{escape(info["title"])}</h1>
<p>AsyncAPI {escape(document["asyncapi"])}, version {escape(info["version"])} ·
<a href="asyncapi.json">asyncapi.json</a></p>
<p>{escape(info["description"])}</p>
<ul>{servers}</ul>
<nav>{nav}<a href="#schemas">schemas</a></nav>
{body}
<h2 id="schemas">Schemas</h2>
{schemas}
</body>
</html>
"""
