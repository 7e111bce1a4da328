"""Swagger UI's files, served from the swagger-ui-bundle package so the docs work offline, and the
script that starts it (the page itself runs no inline script)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blueprint = Blueprint("docs_assets", __name__)
ASSETS = Path(__file__).resolve().parents[1] / "assets"


@blueprint.get("/api/docs/assets/<path:filename>")
def asset(filename: str):
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


@blueprint.get("/api/docs/start.js")
def start_script():
    return send_from_directory(ASSETS, "docs-start.js", max_age=3600)
