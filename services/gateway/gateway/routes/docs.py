"""Swagger UI's files, served from the swagger-ui-bundle package so the docs work offline."""
from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blueprint = Blueprint("docs_assets", __name__)


@blueprint.get("/api/docs/assets/<path:filename>")
def asset(filename: str):
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
