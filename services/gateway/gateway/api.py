"""The OpenAPI-described API: flask-smorest with problem+json errors and 400 for bad input."""
from __future__ import annotations

import json

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from flask import abort
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from gateway.contract import ErrorResponsesPlugin, ProblemSchema
from gateway.problems import flatten_validation_messages, problem
from gateway.schemas import PublicOrganisationSchema


class Parser(FlaskParser):
    """webargs' parser, refusing with 400 what it would otherwise pass on to fail further in:
    JSON nested beyond what Python reads, numbers too long to convert, and text a service cannot
    keep (lone surrogates, which are not Unicode text; NUL, which PostgreSQL text cannot hold)."""
    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        if not is_json_request(req) and (req.content_length or req.mimetype):
            # A body of another type would otherwise read as no body at all ("field is required").
            abort(problem(415, "send the body as application/json", slug="unsupported-media-type"))
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
    # Each operation lists its own errors (gateway.contract), none a catch-all.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app):
        super().__init__(app, spec_kwargs={"extra_plugins": [ErrorResponsesPlugin()]})
        # Named in the document by hand (an answer that is one of two shapes), so registered here.
        self.spec.components.schema("PublicOrganisation", schema=PublicOrganisationSchema)

    def handle_http_exception(self, error):
        data = getattr(error, "data", None) or {}
        messages = data.get("errors") or data.get("messages")
        if messages is not None:
            return problem(error.code, data.get("message") or "the request has invalid fields",
                           slug="validation-error", errors=flatten_validation_messages(messages))
        detail = data.get("message") or (error.description if error.code != 500 else None)
        # Werkzeug's own headers for the error: Allow on a 405, WWW-Authenticate on a 401.
        headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        return problem(error.code, detail, headers={**headers, **(data.get("headers") or {})})
