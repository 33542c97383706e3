"""The report's schema as the API publishes it, and the example of docs/report.md.

/openapi.json (from the real app on uvicorn) declares every field of the report, `outline` and
`matching` included, both for GET /v1/filings/{id} and for the callback; its report schemas are
the ones derived from core/report.py and none of them lets undeclared fields through. The JSON
example of docs/report.md validates against that schema with every undeclared field refused,
and is what the pipeline writes for the two fixtures it names.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from courtdoc import pipeline
from courtdoc.core.report import REPORT_MODELS, FilingReportModel
from pydantic import TypeAdapter
from service_harness import running_api, service_settings, write_clients

pytest_plugins = ["file_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
REPORT_DOC = ROOT / "docs" / "report.md"
REPORT_NAMES = [m.__name__ for m in REPORT_MODELS]


# --- the schema, strict ---------------------------------------------------------------------------


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` in which every object with declared properties refuses others.

    The published schema leaves `additionalProperties` open (clients ignore fields added later);
    the tests close it, so a field the code writes but the schema does not declare fails."""
    schema = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def report_schema() -> dict[str, Any]:
    """The report's JSON schema, derived from core/report.py as the API derives it."""
    return TypeAdapter(FilingReportModel).json_schema()


def strict_validator(schema: dict[str, Any] | None = None) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator(strict(schema if schema is not None else report_schema()))


def schema_errors(validator: jsonschema_rs.Validator, report: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(report)]


# --- the published schema -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory, redis_server: Any) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("schema")
    write_clients(tmp / "clients.toml")
    conf = service_settings(tmp, redis_server.url, "schema-" + os.urandom(4).hex(), tmp / "clients.toml")
    with running_api(conf) as (_, server):
        answer = httpx.get(f"{server.url}/openapi.json", timeout=10)
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def _component(openapi: dict[str, Any], ref: str) -> dict[str, Any]:
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix), ref
    component: dict[str, Any] = openapi["components"]["schemas"][ref[len(prefix) :]]
    return component


def _refs(node: dict[str, Any]) -> list[str]:
    """The component(s) a property points to: directly, or among the arms of `anyOf` (nullable)."""
    if "$ref" in node:
        return [node["$ref"]]
    return [arm["$ref"] for arm in node.get("anyOf", []) if "$ref" in arm]


def _follow(openapi: dict[str, Any], schema: dict[str, Any], *path: str) -> dict[str, Any]:
    """The component reached from `schema` by the property names of `path`."""
    for name in path:
        (ref,) = _refs(schema["properties"][name])
        schema = _component(openapi, ref)
    return schema


def _json_body(operation: dict[str, Any]) -> dict[str, Any]:
    return operation["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


def test_status_and_callback_declare_the_whole_report(openapi: dict[str, Any]) -> None:
    status_schema = _json_body(openapi["paths"]["/v1/filings/{filing_id}"]["get"]["responses"]["200"])
    status = _component(openapi, status_schema["$ref"])
    callback_schema = _json_body(openapi["webhooks"]["filing.checked"]["post"]["requestBody"])
    callback = _component(openapi, callback_schema["$ref"])
    reports = [_follow(openapi, status, "report"), _follow(openapi, callback, "data", "report")]
    assert reports[0] is reports[1]
    report = reports[0]
    assert report["title"] == "FilingReportModel"
    assert {"schema_version", "policy", "lang", "verdict", "findings", "files", "matching"} <= set(
        report["required"]
    )
    row = _component(openapi, report["properties"]["matching"]["items"]["$ref"])
    assert set(row["properties"]) == {"list", "entry", "number", "title", "pages", "file", "score", "file_pages"}
    file = _component(openapi, report["properties"]["files"]["items"]["$ref"])
    assert "outline" in file["required"]
    outline = _follow(openapi, file, "outline")
    assert {"title", "pages", "page_starts", "layout", "attachments", "fingerprint"} <= set(outline["properties"])
    # the closed sets are enumerated, not plain strings
    finding = _component(openapi, file["properties"]["findings"]["items"]["$ref"])
    assert finding["properties"]["severity"]["enum"] == ["reject", "warn", "info"]
    assert file["properties"]["verdict"]["enum"] == ["accept", "reject"]
    page = _component(openapi, file["properties"]["pages"]["items"]["$ref"])
    assert page["properties"]["kind"]["enum"] == ["text", "scan", "mixed", "blank"]
    assert {"enum": ["bw", "grey", "colour"], "type": "string"} in page["properties"]["colour"]["anyOf"]


def test_published_report_schemas_are_core_reports_and_hide_no_field(openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    derived = report_schema()
    defs = {**derived.pop("$defs"), "FilingReportModel": derived}
    published = json.loads(
        json.dumps({name: components[name] for name in REPORT_NAMES}).replace("#/components/schemas/", "#/$defs/")
    )
    assert published == {name: defs[name] for name in REPORT_NAMES}
    for name in REPORT_NAMES:
        # open to fields added later is the JSON Schema default; never an explicit catch-all
        assert "additionalProperties" not in components[name], name


# --- the example of docs/report.md ----------------------------------------------------------------


def docs_example() -> dict[str, Any]:
    blocks = re.findall(r"```json\n(.*?)\n```", REPORT_DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "docs/report.md has one JSON example of a report"
    example: dict[str, Any] = json.loads(blocks[0])
    return example


def test_docs_example_validates_with_no_undeclared_field(openapi: dict[str, Any]) -> None:
    schema = {"$ref": "#/components/schemas/FilingReportModel", "components": openapi["components"]}
    assert schema_errors(strict_validator(schema), docs_example()) == []


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what changes when the policy file or a fixture's random bytes change
    (hashes, sizes, the policy's version) or a message is reworded."""
    report = copy.deepcopy(report)
    report.pop("policy")
    for file in report["files"]:
        for key in ("size", "sha256"):
            file.pop(key)
    for finding in report["findings"] + [f for file in report["files"] for f in file["findings"]]:
        finding.pop("message")
    return report


def test_docs_example_is_what_the_pipeline_writes(generated: dict[str, Path]) -> None:
    example = docs_example()
    paths = [generated[file["name"]] for file in example["files"]]
    written = pipeline.validate_filing(paths, lang=example["lang"]).to_dict()
    assert list(written) == list(example)
    assert [list(f) for f in written["files"]] == [list(f) for f in example["files"]]
    assert _stable(dict(written)) == _stable(example)
    assert example["policy"]["id"] == written["policy"]["id"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda r: r["files"][1]["text"].update(words=3), "files/1/text"),
        (lambda r: r["files"][0]["findings"][0].update(severity="fatal"), "files/0/findings/0/severity"),
        (lambda r: r["files"][0]["findings"][0]["location"].update(row=3), "files/0/findings/0/location"),
        (lambda r: r["files"][0].update(format="odt"), "files/0/format"),
        (lambda r: r.update(verdict="maybe"), "verdict"),
        (lambda r: r["files"][0].pop("outline"), "files/0"),
        (lambda r: r["files"][0].update(pages=[{"number": 1, "kind": "text", "dpi": None, "colour": None, "x": 1}]),
         "files/0/pages/0"),
        (lambda r: r.update(matching=[{"list": "declared", "entry": 1}]), "matching/0"),
    ],
)
def test_strict_schema_refuses_what_it_does_not_declare(change: Callable[[dict[str, Any]], Any], where: str) -> None:
    report = docs_example()
    change(report)
    errors = schema_errors(strict_validator(), report)
    assert errors and all(e.startswith(where) for e in errors), errors
