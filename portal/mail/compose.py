"""A message from its templates: templates/mail/<name>.txt and .html, rendered with the same
context. No images, no tracking pixels, no redirecting links: only the link the message is for."""

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str


async def compose(env: Environment, name: str, subject: str, **context: Any) -> Composed:
    """`env` is the app's (its globals name the association); `context` fills both bodies."""
    values = {"subject": subject, **context}
    text = await env.get_template(f"mail/{name}.txt").render_async(**values)
    html = await env.get_template(f"mail/{name}.html").render_async(**values)
    return Composed(subject, text.strip() + "\n", html)
