"""The OpenAPI document: valid OpenAPI 3, equal to the API routes, and honest about errors."""
from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from diaryroom.auth import passwords
from diaryroom.auth.access import PUBLIC, declared_access
from tests.conftest import bearer

PREFIX = "/api/v1"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Still Argon2id, with a cheap cost: the world fixture hashes four passwords."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def spec(client) -> dict:
    response = client.get(f"{PREFIX}/openapi.json")  # public: no token
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def api_rules(app) -> dict[tuple[str, str], str]:
    """(documented path, method) -> endpoint, for every API rule in the URL map. The HEAD
    Flask adds beside each GET and the automatic OPTIONS are not operations of their own;
    a route's own HEAD or OPTIONS (tus has both) is, and must be documented."""
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        methods = set(rule.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")
        if getattr(rule, "provide_automatic_options", False):
            methods.discard("OPTIONS")
        for method in methods:
            found[(path, method.lower())] = rule.endpoint
    return found


def test_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert spec["servers"] == [{"url": PREFIX}]


def test_document_describes_exactly_the_api_routes(app, spec):
    documented = {(path, method) for path, method, _ in operations(spec)}
    routed = set(api_rules(app))
    assert routed, "no API routes found"
    assert documented - routed == set(), "documented but not routed"
    assert routed - documented == set(), "routed but not documented"


def test_path_parameters_are_declared(spec):
    for path, method, op in operations(spec):
        in_path = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == in_path, (path, method)
        if in_path:
            assert "404" in op["responses"], (path, method)


def test_secured_operations_document_401_and_403(app, spec):
    endpoints = api_rules(app)
    for path, method, op in operations(spec):
        public = PUBLIC in declared_access(app.view_functions[endpoints[(path, method)]])
        secured = op.get("security", spec["security"]) != []
        assert secured == (not public), (path, method)
        if secured:
            assert {"401", "403"} <= set(op["responses"]), (path, method)


def _error_validator(spec: dict) -> OAS30Validator:
    schema = {"$ref": "#/components/schemas/Error", "components": spec["components"]}
    return OAS30Validator(schema)


def test_real_error_responses_match_the_error_schema(world, client, spec):
    validator = _error_validator(spec)
    staff, panel = world.account("staff"), world.account("panel")
    cases = [
        ("/jobs/999999", bearer(staff.token), 404),       # not found
        ("/entries/999999", bearer(staff.token), 404),
        ("/jobs/999999", bearer(panel.token), 403),       # wrong role
        ("/jobs/999999", {}, 401),                        # no token
        ("/jobs/999999", {"Authorization": "Bearer nope"}, 401),
    ]
    for path, headers, status in cases:
        response = client.get(PREFIX + path, headers=headers)
        assert response.status_code == status, (path, headers)
        assert response.mimetype == "application/json"
        validator.validate(response.json)
        documented = spec["paths"]["/jobs/{job_id}" if "jobs" in path else
                                   "/entries/{entry_id}"]["get"]["responses"]
        assert str(status) in documented, (path, status)
    # and the schema is strict enough to reject a body that is not an error
    assert not validator.is_valid({"message": "not found"})
    assert not validator.is_valid({"error": {"code": "not_found"}})


def test_the_security_answers_are_documented(spec):
    """What issue 8 added to the API's answers is in the document a client reads: a
    withdrawn entry's 410, a JSON body over the limit's 413, a full upload quota's 429."""
    for path, method, op in operations(spec):
        codes = set(op["responses"])
        if path.startswith("/entries/{entry_id}/") and path != "/entries/{entry_id}/withdraw":
            assert "410" in codes, f"{method.upper()} {path} does not say 410 (withdrawn)"
        if "requestBody" in op:
            assert "413" in codes, f"{method.upper()} {path} does not say 413 (too large)"
    assert "429" in spec["paths"]["/uploads"]["post"]["responses"]
