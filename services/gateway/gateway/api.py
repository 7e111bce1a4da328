"""The OpenAPI-described API: flask-smorest with problem+json errors and 400 for bad input."""
from __future__ import annotations

import json

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.core import missing
from webargs.flaskparser import FlaskParser

from gateway.problems import flatten_validation_messages, problem


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""
    type = ma.fields.String(metadata={"example": "urn:pe-insight:problem:validation-error"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Dict(), metadata={"description": "Fields at fault: {field, message}"})


class Parser(FlaskParser):
    """webargs' parser, refusing with 400 what it would otherwise pass on to fail further in:
    JSON nested beyond what Python reads, numbers too long to convert, and text a service cannot
    keep (lone surrogates, which are not Unicode text; NUL, which PostgreSQL text cannot hold)."""
    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        try:
            data = super()._raw_load_json(req)
        except RecursionError:
            raise ma.ValidationError(["is nested too deeply to read"]) from None
        except ValueError as error:
            if isinstance(error, json.JSONDecodeError):
                raise
            raise ma.ValidationError(["holds a number too long to read"]) from None  # int digit limit
        if data is not missing:
            _refuse_unusable_text([data])
        return data

    def load_querystring(self, req, schema):
        _refuse_unusable_text([{key: value} for key, value in req.args.items(multi=True)])
        return super().load_querystring(req, schema)


# Deeper than any request of the API: a field nested further is refused, named by its top field.
MAX_DEPTH = 32


def _text_fault(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character, which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (it holds a lone surrogate)"
    return None


def _refuse_unusable_text(documents: list) -> None:
    """Raises a ValidationError naming each field (by its path) that holds unusable text or is
    nested too deeply; walked without recursion, whatever the depth."""
    faults: dict = {}

    def fault(path: tuple, message: str) -> None:
        node = faults
        for part in path:
            node = node.setdefault(part, {})
        messages = node.setdefault("_schema", [])  # the field at `path` itself
        if message not in messages:
            messages.append(message)

    pending = [((), document) for document in documents]
    while pending:
        path, value = pending.pop()
        if len(path) > MAX_DEPTH:
            fault(path[:1], "is nested too deeply")
        elif isinstance(value, str):
            problem = _text_fault(value)
            if problem:
                fault(path, problem)
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _text_fault(key)
                if problem:
                    fault(path, f"has a field name that {problem}")
                else:
                    pending.append(((*path, key), item))
        elif isinstance(value, list):
            pending.extend(((*path, index), item) for index, item in enumerate(value))
    if faults:
        raise ma.ValidationError(faults)


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = Parser()


class Api(SmorestApi):
    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        data = getattr(error, "data", None) or {}
        messages = data.get("errors") or data.get("messages")
        if messages is not None:
            return problem(error.code, data.get("message") or "the request has invalid fields",
                           slug="validation-error", errors=flatten_validation_messages(messages))
        detail = data.get("message") or (error.description if error.code != 500 else None)
        return problem(error.code, detail, headers=data.get("headers"))
