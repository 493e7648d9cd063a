"""The OpenAPI document is a valid OpenAPI 3.1 document, every JSON answer has a typed
schema with an example (the explorer's JSON twins included), the examples fit their schemas,
live answers fit them too, and the CSV exports are documented as ``text/csv`` (the
schemathesis run in test_openapi_fuzz.py checks every operation the same way, at length)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from api.demo.build import build_demo
from api.server.app import create_app
from api.server.serving import open_exchange_node

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def spec(counter_http: TestClient) -> dict[str, Any]:
    return counter_http.get("/openapi.json").json()  # type: ignore[no-any-return]


def json_answers(spec: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, status, schema) of every 2xx application/json answer."""
    return [(method, path, status, content["schema"])
            for path, operations in spec["paths"].items()
            for method, operation in operations.items()
            for status, answer in operation["responses"].items() if status.startswith("2")
            for media, content in answer.get("content", {}).items()
            if media == "application/json"]


def component(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    assert ref.startswith("#/components/schemas/"), f"not a named model: {schema}"
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


def fits(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """The errors of ``value`` against ``schema`` (refs resolved in ``spec``)."""
    rooted = {**schema, "components": spec["components"]}
    return [e.message for e in OAS31Validator(rooted).iter_errors(value)]


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_json_answer_names_a_typed_model_with_an_example(spec: dict[str, Any]) -> None:
    answers = json_answers(spec)
    assert len({(m, p) for m, p, _, _ in answers}) >= 30
    for method, path, status, schema in answers:
        model = component(spec, schema)
        assert model.get("properties") and model.get("required"), (method, path, status)
        assert model.get("examples"), f"{method} {path} {status}: no example"


def test_every_example_fits_its_schema(spec: dict[str, Any]) -> None:
    checked = 0
    for name, schema in spec["components"]["schemas"].items():
        for value in schema.get("examples", ()):
            assert not fits(spec, schema, value), name
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("url", ["/v1/genesis", "/v1/status", "/v1/blocks", "/v1/validators",
                                 "/v1/tables", "/v1/tables/c_counters", "/healthz",
                                 "/v1/signers/" + "ab" * 32 + "/seq"])
def test_live_answers_fit_their_schemas(spec: dict[str, Any], counter_http: TestClient,
                                        url: str) -> None:
    answer = counter_http.get(url)
    assert answer.status_code == 200
    route = url.replace("ab" * 32, "{key}").replace("c_counters", "{name}")
    schema = spec["paths"][route]["get"]["responses"]["200"]["content"]["application/json"]
    assert not fits(spec, schema["schema"], answer.json())


def test_a_wrong_answer_does_not_fit(spec: dict[str, Any], counter_http: TestClient) -> None:
    """The check above can fail: a status whose height is a string is refused."""
    schema = spec["paths"]["/v1/status"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    answer = counter_http.get("/v1/status").json()
    assert fits(spec, schema, {**answer, "height": str(answer["height"])})
    assert fits(spec, schema, {k: v for k, v in answer.items() if k != "state"})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A small demo district, served with its explorer."""
    path = tmp_path_factory.mktemp("openapi") / "demo"
    build_demo(path, seed=7, customers=60, days=7)
    node = open_exchange_node(path, produce=False)
    with TestClient(create_app(node)) as client:
        yield client
    node.close()


def explorer_urls(demo: TestClient) -> dict[str, list[str]]:
    """For every explorer path with a ``{param}`` or a query: real URLs to fetch."""
    conn = demo.app.state.node.replica.store.thread_reader()  # type: ignore[attr-defined]
    swap, account = conn.execute("SELECT id, signer FROM records WHERE type IN "
                                 "('exchange.swap', 'exchange.redeem') LIMIT 1").fetchone()
    pending = "ab" * 32
    return {
        "/blocks/{height}.json": ["/blocks/3.json", "/blocks/1.json?after=0"],
        "/records/{record_id}.json": [f"/records/{swap}.json"],
        "/records/{record_id}/receipt.json": [f"/records/{swap}/receipt.json"],
        "/accounts/{key}.json": [f"/accounts/{account}.json",
                                 f"/accounts/{account}.json?before=3.0.0"],
        "/programs/{code}.json": ["/programs/bc.json", "/programs/vk.json"],
        "/merchants/{merchant_id}.json": ["/merchants/bamboo-cafe.json"],
        "/merchants/{merchant_id}/statements/{month}.json": [
            demo.get("/merchants/bamboo-cafe.json").json()["statement"] + ".json"],
        "/search.json": ["/search.json?q=coffee", f"/search.json?q={account[:10]}",
                         f"/search.json?q={pending}", "/search.json"],
        "/records.json": ["/records.json", "/records.json?before=3.0"],
        "/alliance.json": ["/alliance.json", "/alliance.json?merchants_after=bamboo-cafe"],
    }


def test_every_explorer_twin_answers_within_its_schema(demo: TestClient) -> None:
    """Every ``.json`` twin in the document, fetched on a demo chain, fits its model."""
    spec = demo.get("/openapi.json").json()
    urls = explorer_urls(demo)
    twins = [path for path in spec["paths"] if path.endswith(".json") and path != "/openapi.json"]
    assert len(twins) >= 15
    for path in twins:
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        for url in urls.get(path, [path]):
            answer = demo.get(url)
            assert answer.status_code == 200, url
            assert not fits(spec, schema["schema"], answer.json()), url


def test_every_csv_export_is_documented_as_csv(demo: TestClient) -> None:
    spec = demo.get("/openapi.json").json()
    exports = {path: ops["get"]["responses"]["200"]["content"]
               for path, ops in spec["paths"].items() if path.endswith(".csv")}
    assert len(exports) >= 6
    assert {path: list(content) for path, content in exports.items()} == {
        path: ["text/csv"] for path in exports}
    answer = demo.get("/blocks.csv")
    assert answer.headers["content-type"].startswith("text/csv")
