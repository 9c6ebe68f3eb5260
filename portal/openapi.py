"""OpenAPI 3.1 documents, built from declarations next to the routes they describe (a view
carries its operations: `@documented(...)`) and from the app's own URL map. So a document names
only paths the app serves, and fails to build when a route's methods and its declaration part:
it cannot drift from the code without a test noticing."""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from quart import Quart

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "openapi_declaration"
# The methods a route refuses are documented too, each with its one answer (405).
OTHER_METHODS = ("put", "patch", "delete", "head", "options", "trace")
AUTOMATIC = {"HEAD", "OPTIONS"}  # werkzeug adds these to every route; they are declared or refused
PATH_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Answer:
    description: str
    schema: Mapping[str, Any] | None = None  # the application/json body
    headers: Mapping[str, str] = field(default_factory=dict)  # name: description; always sent


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    description: str
    answers: Mapping[int, Answer]
    parameters: Sequence[Mapping[str, Any]] = ()
    request_body: Mapping[str, Any] | None = None
    security: Sequence[str] = ()  # names of the document's security schemes


@dataclass(frozen=True)
class Declaration:
    operations: Mapping[str, Operation]  # by method, as the route serves them: GET, POST
    refused: Answer | None = None  # the answer to every other method


def documented(declaration: Declaration) -> Callable[[F], F]:
    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, declaration)
        return view

    return mark


def document(
    app: Quart,
    *,
    info: Mapping[str, Any],
    servers: Sequence[Mapping[str, str]],
    security_schemes: Mapping[str, Any],
    headers: Mapping[str, str],
) -> dict[str, Any]:
    """The document of every declared route of `app`; `headers` are sent with every answer."""
    paths: dict[str, Any] = {}
    for rule in app.url_map.iter_rules():
        declaration = getattr(app.view_functions[rule.endpoint], ATTRIBUTE, None)
        if declaration is None:
            continue
        served = set(rule.methods or ()) - AUTOMATIC
        if served != set(declaration.operations):
            raise ValueError(f"{rule.rule} serves {sorted(served)}: declare exactly those")
        item = {
            method.lower(): operation_object(operation, headers)
            for method, operation in declaration.operations.items()
        }
        if declaration.refused is not None:
            first = next(iter(declaration.operations.values())).operation_id
            for method in OTHER_METHODS:
                item.setdefault(method, refused_object(first, declaration.refused, method, headers))
        paths[PATH_PARAMETER.sub(r"{\1}", rule.rule)] = item
    return {
        "openapi": "3.1.0",
        "info": dict(info),
        "servers": [dict(server) for server in servers],
        "paths": paths,
        "components": {"securitySchemes": dict(security_schemes)},
    }


def operation_object(operation: Operation, headers: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description,
        "parameters": [dict(parameter) for parameter in operation.parameters],
        "responses": {
            str(status): answer_object(answer, headers)
            for status, answer in sorted(operation.answers.items())
        },
    }
    if operation.request_body is not None:
        found["requestBody"] = dict(operation.request_body)
    if operation.security:
        found["security"] = [{name: []} for name in operation.security]
    return found


def refused_object(
    operation_id: str, refused: Answer, method: str, headers: Mapping[str, str]
) -> dict[str, Any]:
    answer = answer_object(refused, headers, body=method != "head")  # HEAD answers carry no body
    return {
        "operationId": f"{operation_id}_{method}",
        "summary": f"{method.upper()} is refused",
        "responses": {"405": answer},
    }


def answer_object(answer: Answer, headers: Mapping[str, str], body: bool = True) -> dict[str, Any]:
    found: dict[str, Any] = {
        "description": answer.description,
        "headers": {
            name: {"description": text, "required": True, "schema": {"type": "string"}}
            for name, text in {**headers, **answer.headers}.items()
        },
    }
    if answer.schema is not None and body:
        found["content"] = {"application/json": {"schema": dict(answer.schema)}}
    return found
