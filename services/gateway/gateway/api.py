"""The OpenAPI-described API: flask-smorest with problem+json errors and 400 for bad input."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
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
    DEFAULT_VALIDATION_STATUS = 400


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
