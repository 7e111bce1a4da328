"""Build step: write the gateway's OpenAPI document to a file, from the gateway's own app, without
starting it, so that `make gen` can generate the web's API client from it.

python -m web.openapi_document OUT.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


class _NoBackends:
    """The document needs no service; nothing is called while it is built."""


def document() -> dict:
    from gateway import config
    from gateway.app import create_app
    app = create_app(config.load({"DEVELOPMENT": "1"}), backends=_NoBackends(), session_check=object())
    with app.test_client() as client:
        response = client.get("/api/v1/openapi.json")
        if response.status_code != 200:
            raise SystemExit(f"the gateway answered {response.status_code} for its OpenAPI document")
        return response.get_json()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m web.openapi_document OUT.json", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document(), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
