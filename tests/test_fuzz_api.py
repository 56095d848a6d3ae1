"""Every operation of the OpenAPI document fuzzed with schemathesis, in process
(WSGI) on both databases: 0 server errors and 0 conformance failures (status
code, content type, response headers, response body against the document).

Each operation runs as the role its document names (admin first, else the
first listed), so a technician's sync endpoints are fuzzed as a technician.
Each operation: valid and invalid inputs with generated ids, then valid inputs
with the ids of real records. Bounded: FIELDSYNC_FUZZ_EXAMPLES examples per
operation and kind (default 6; about 2.5 minutes per database on 2 CPUs)."""

import contextlib
import os
import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.accounts.models import Role
from tests import factories as f

EXAMPLES = int(os.environ.get("FIELDSYNC_FUZZ_EXAMPLES", "6"))
FUZZ_PHASES = [Phase.explicit, Phase.generate]  # no shrinking: a failure is reported as found
# tus bodies: the bytes of a file, sent as they are.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def tokens(app):
    """A bearer header per role, and a few records for ids to land on."""
    client = app.test_client()
    tech = f.technician()
    f.job(tech=tech)
    headers = {role: f.login_as(client, f.user(role)) for role in (Role.admin, Role.dispatcher, Role.warehouse)}
    headers[Role.technician] = f.login_as(client, tech)
    spare = f.user(Role.dispatcher)
    # Logging out revokes the token it is sent with: that operation gets a fresh one each time.
    headers["logout"] = lambda: f.login_as(client, spare)
    return headers


@pytest.fixture
def known_ids(tokens):
    """Ids of real records, by path parameter name: a second run of each
    operation reaches past "not found" into the handlers."""
    tech = f.technician()
    job = f.job(tech=tech)
    ticket = job.ticket
    customer = f.customer()
    warehouse = f.location()
    ids = {"ticket_id": ticket.id, "job_id": job.id, "customer_id": ticket.customer_id, "site_id": ticket.site_id,
           "asset_id": ticket.asset_id, "contract_id": f.contract(customer).id, "technician_id": tech.id,
           "location_id": warehouse.id, "van_id": tech.van_location_id, "part_id": f.part().id,
           "spare_unit_id": f.spare_unit(warehouse).id, "user_id": f.user(Role.warehouse).id}
    ids["unit_id"] = ids["spare_unit_id"]
    return {name: str(value) for name, value in ids.items()}


def _headers(tokens, case) -> dict:
    if case.operation.method.upper() == "DELETE" and case.operation.path == "/api/v1/auth/token":
        return tokens["logout"]()
    return tokens[_role_for(case)]


def _role_for(case) -> Role:
    description = case.operation.definition.raw.get("description") or ""
    match = re.search(r"Roles: ([a-z, ]+)\.", description)
    if not match:
        return Role.admin
    roles = [r.strip() for r in match.group(1).split(",")]
    return Role.admin if "admin" in roles else Role(roles[0])


codes: Counter = Counter()


def _fuzz(operation, headers_for, mode, answered: Counter, path_parameters=None) -> list[str]:
    """Run one operation's examples; the failures found."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=FUZZ_PHASES,
              suppress_health_check=list(HealthCheck))
    def run(case):
        headers = dict(headers_for(case))  # the role's real token, over any generated one
        # The WSGI transport does not undo Content-Encoding: ask for bodies as they are (compression has its tests).
        headers["Accept-Encoding"] = "identity"
        if case.headers:
            case.headers.pop("Authorization", None)
        try:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            answered[response.status_code // 100] += 1
            if response.status_code >= 400:
                codes[response.status_code] += 1
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' failures: kept, the fuzzing goes on
            failures.append(f"{operation.label} ({mode}): {str(exc)[:1500]}")

    # Negative mode on an operation with nothing to get wrong (no parameters, no body) is unsatisfiable.
    with contextlib.suppress(Unsatisfiable):
        run()
    return failures


def test_every_operation_answers_as_documented(app, api_schema, tokens, known_ids):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 100
    failures: list[str] = []
    answered: Counter = Counter()
    for operation in operations:
        def headers_for(case):
            return _headers(tokens, case)

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz(operation, headers_for, mode, answered)
        names = {p.name for p in operation.path_parameters}
        if names and names <= set(known_ids):
            failures += _fuzz(operation, headers_for, GenerationMode.POSITIVE, answered,
                              {name: known_ids[name] for name in names})
    print(f"{len(operations)} operations, answers by class: {dict(sorted(answered.items()))}, refusals {codes}")
    # Not every answer a refusal: the fuzzing reaches the handlers.
    assert answered[2] > len(operations)
    if os.environ.get("FIELDSYNC_FUZZ_REPORT"):
        with open(os.environ["FIELDSYNC_FUZZ_REPORT"], "a") as report:
            report.write("\n\n".join(failures) + "\n")
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
