"""The push's operation shapes in the OpenAPI document (issue 13, "Op shapes"):
one schema per writable table, generated from sync/registry.py, chosen by
``table``. The document states exactly what the parsers accept, and an
operation written from the document alone is applied."""

import uuid

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from sync.registry import TABLES, FieldError, operation_schema_name, operation_schemas
from tests import factories as f
from tests.syncing import Handheld, op


def _spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def _validator(spec, name):
    schema = {**spec["components"]["schemas"][name], "components": spec["components"]}
    return OAS30Validator(schema, format_checker=oas30_format_checker)


def test_every_writable_table_has_one_schema_chosen_by_table(client):
    spec = _spec(client)
    items = spec["components"]["schemas"]["PushRequest"]["properties"]["ops"]["items"]
    writable = {t.name for t in TABLES.values() if t.actions}
    assert set(items["discriminator"]["mapping"]) == writable
    assert len(items["oneOf"]) == len(writable)
    for table in writable:
        name = operation_schema_name(TABLES[table])
        assert items["discriminator"]["mapping"][table] == f"#/components/schemas/{name}"
        # Generated from the registry: the served document is the registry's, field by field.
        assert spec["components"]["schemas"][name] == operation_schemas()[name]
        shape = spec["components"]["schemas"][name]
        assert shape["properties"]["action"]["enum"] == sorted(TABLES[table].actions,
                                                               key=["create", "update", "delete"].index)
        assert set(shape["properties"]["fields"]["properties"]) == set(TABLES[table].writable)


def test_every_parser_states_what_it_takes():
    for table in TABLES.values():
        for name, parse in table.writable.items():
            assert hasattr(parse, "json_schema"), f"{table.name}.{name}: give its parser a json_schema (registry)"


def _samples(schema):
    """Values the schema allows and values it refuses, from its own keywords."""
    good, bad = [], [{"an": "object"}] if schema.get("type") != "object" else []
    kind = schema.get("type")
    if schema.get("nullable"):
        good.append(None)
    elif kind != "array":
        bad.append(None)
    if "enum" in schema:
        good += [v for v in schema["enum"] if v is not None]
        bad.append("not-one-of-them")
    elif kind == "string" and schema.get("format") == "uuid":
        good.append(str(uuid.uuid4()))
        bad.append("not-a-uuid")
    elif kind == "string" and schema.get("format") == "date-time":
        good.append("2026-12-06T03:00:00Z")
        bad += ["2026-12-06T03:00:00", "yesterday"]
    elif kind == "string" and "pattern" in schema and "maxLength" not in schema:
        good.append("ab" * 32)
        bad.append("AB" * 32)
    elif kind == "string":
        good.append("x" * schema.get("maxLength", 10))
        bad.append(12)
        if "maxLength" in schema:
            bad.append("x" * (schema["maxLength"] + 1))
        if "pattern" in schema:
            bad.append("   ")
    elif kind in ("number", "integer"):
        good += [schema["minimum"], schema["maximum"]]
        bad += [schema["minimum"] - 1, schema["maximum"] + 1, "1", True]
        if kind == "integer":
            bad.append(1.5)
    elif kind == "boolean":
        good += [True, False]
        bad.append("yes")
    elif kind == "array":
        bad.append("text")
    return good, bad


@pytest.mark.parametrize("table", [t for t in TABLES if TABLES[t].actions])
def test_the_document_and_the_parsers_agree_value_by_value(table):
    spec = TABLES[table]
    shape = operation_schemas()[operation_schema_name(spec)]["properties"]["fields"]["properties"]
    for name, parse in spec.writable.items():
        validator = OAS30Validator(shape[name], format_checker=oas30_format_checker)
        good, bad = _samples(shape[name])
        for value in good:
            assert validator.is_valid(value), (table, name, value)
            parse(value)  # accepted
        for value in bad:
            assert not validator.is_valid(value), (table, name, value)
            with pytest.raises(FieldError):
                parse(value)


def test_operations_written_from_the_document_alone_are_applied(client):
    spec = _spec(client)
    tech = f.technician()
    job = f.job(tech=tech)
    part = f.part()
    device = Handheld(client, tech)
    blob = "ab" * 32
    ops = [
        op("jobs", job.id, "update", {"status": "accepted"}, base_version=job.version),
        op("adjustments", uuid.uuid4(), "create", {"job_id": str(job.id), "parameter": "pressure",
                                                  "value_before": "1.0", "value_after": "1.2", "unit": "bar"}),
        op("part_usages", uuid.uuid4(), "create", {"job_id": str(job.id), "part_id": str(part.id), "quantity": 1}),
        op("check_ins", uuid.uuid4(), "create", {"job_id": str(job.id), "kind": "arrival", "latitude": 31.2,
                                                "longitude": 121.4, "recorded_at": "2026-12-06T03:00:00Z"}),
        op("photos", uuid.uuid4(), "create", {"job_id": str(job.id), "blob_sha256": blob, "kind": "before"}),
    ]
    for operation in ops:
        name = operation_schema_name(TABLES[operation["table"]])
        errors = list(_validator(spec, name).iter_errors(operation))
        assert not errors, (operation["table"], [e.message for e in errors])
    # The wrong table's shape refuses it: the discriminator really chooses.
    assert not _validator(spec, "JobsOperation").is_valid(ops[1])
    results = device.push(ops)["results"]
    assert [r["status"] for r in results] == ["applied"] * len(ops), results
