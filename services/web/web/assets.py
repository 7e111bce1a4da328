"""The pages' look: the NL Design System's component CSS and design tokens, installed from npm
(services/web/package-lock.json, `make gen` runs npm ci) and served from node_modules as they are."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
# Only these files are served; nothing else of node_modules is reachable.
STYLE_SHEETS = {
    "components.css": "@utrecht/component-library-css/dist/index.css",
    "tokens.css": "@nl-design-system-unstable/voorbeeld-design-tokens/dist/theme.css",
}
# pe-insight's own design tokens (values of the components' custom properties), kept beside the pages.
OWN_TOKENS = Path(__file__).resolve().parent / "tokens"

blueprint = Blueprint("assets", __name__)


@blueprint.route("/assets/<name>")
def style_sheet(name: str):
    if name == "pe-insight-tokens.css":
        return send_from_directory(OWN_TOKENS, "pe-insight.css", mimetype="text/css", max_age=3600)
    path = STYLE_SHEETS.get(name)
    if path is None or not (NODE_MODULES / path).is_file():
        abort(404)
    return send_from_directory(NODE_MODULES, path, mimetype="text/css", max_age=3600)


def missing() -> list[str]:
    return [path for path in STYLE_SHEETS.values() if not (NODE_MODULES / path).is_file()]
