from openapi_spec_validator import validate


def test_openapi_document_is_valid_and_describes_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    validate(document)
    assert document["info"]["title"] == "pe-insight API"
    assert "/api/v1/session" in document["paths"]
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_interactive_docs_are_served_with_their_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"swagger-ui" in page.data
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    asset.close()
