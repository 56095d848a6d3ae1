"""API details a fuzzer and a walk-through found (issue 14): the document and
the server agree, and what the document promises works."""

from server.accounts.models import Role
from server.tickets.models import Category, ComplaintClass
from tests import factories as f
from tests.test_errors import assert_error


def _spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def test_ticket_search_takes_percent_and_underscore_literally(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    f.ticket(summary="Compressor at 100% load trips")
    f.ticket(summary="Fan_2 is noisy")
    f.ticket(summary="Leaking valve")

    def found(q):
        r = client.get("/api/v1/tickets", query_string={"q": q}, headers=headers)
        assert r.status_code == 200, r.get_json()
        return sorted(t["summary"] for t in r.get_json()["items"])

    assert found("%") == ["Compressor at 100% load trips"]
    assert found("_") == ["Fan_2 is noisy"]
    assert found("n_2") == ["Fan_2 is noisy"]
    assert found("a%e") == []


def test_tickets_filter_by_complaint_class(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    quality = f.ticket(category=Category.complaint, complaint_class=ComplaintClass.quality)
    f.ticket(category=Category.complaint, complaint_class=ComplaintClass.other)
    f.ticket()
    r = client.get("/api/v1/tickets?complaint_class=quality", headers=headers)
    assert r.status_code == 200 and [t["id"] for t in r.get_json()["items"]] == [str(quality.id)]
    assert_error(client.get("/api/v1/tickets?complaint_class=bogus", headers=headers), 422, "validation_error")


def test_a_spare_units_history_starts_at_registration_and_a_slash_in_its_serial_is_reachable(client):
    headers = f.login_as(client, f.user(Role.warehouse))
    warehouse = f.location()
    r = client.post("/api/v1/spare-units", json={"model": "CH-200", "product_line": "chiller",
                                                  "serial_number": "SP/2026/07", "location_id": str(warehouse.id)},
                    headers=headers)
    assert r.status_code == 201, r.get_json()
    unit_id = r.get_json()["id"]
    assert client.patch(f"/api/v1/spare-units/{unit_id}", json={"status": "in_repair"},
                        headers=headers).status_code == 200
    for path in ("/api/v1/stock/serials/SP/2026/07/history", "/api/v1/stock/serials/SP%2F2026%2F07/history"):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.get_json())
        history = r.get_json()
        assert history["serial_number"] == "SP/2026/07"
        assert [(e["event"], e["status"]) for e in history["events"]] == [("registered", "available"),
                                                                           ("status_set", "in_repair")]
        assert history["events"][0]["location_id"] == str(warehouse.id)


def test_spare_unit_statuses_documented_are_those_accepted_and_named_plainly(client):
    headers = f.login_as(client, f.user(Role.warehouse))
    unit = f.spare_unit(f.location())
    documented = _spec(client)["components"]["schemas"]["SpareUnitUpdate"]["properties"]["status"]["enum"]
    assert documented == ["available", "defective", "in_repair"]
    for status in documented:
        assert client.patch(f"/api/v1/spare-units/{unit.id}", json={"status": status},
                            headers=headers).status_code == 200
    for status in ("reserved", "loaned", "in_transit", "nonsense"):
        error = assert_error(client.patch(f"/api/v1/spare-units/{unit.id}", json={"status": status},
                                          headers=headers), 422, "validation_error")
        message = error["fields"]["json"]["status"][0]
        assert message == "Must be one of: available, defective, in_repair." and "SpareUnitStatus" not in message


def test_patch_bodies_are_required_as_documented_and_optional_post_bodies_say_so(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    customer = f.customer()
    spec = _spec(client)
    assert spec["paths"]["/api/v1/customers/{customer_id}"]["patch"]["requestBody"]["required"] is True
    error = assert_error(client.patch(f"/api/v1/customers/{customer.id}", headers=headers), 422, "validation_error")
    assert "json" in error["fields"]
    assert client.patch(f"/api/v1/customers/{customer.id}", json={}, headers=headers).status_code == 200
    # A POST whose fields are all optional may be sent without a body; the document says so.
    assert spec["paths"]["/api/v1/jobs/{job_id}/cancel"]["post"]["requestBody"]["required"] is False
    assert client.post(f"/api/v1/jobs/{f.job().id}/cancel", headers=headers).status_code == 200


def test_shift_times_are_times_of_day_in_the_document_and_the_server(client):
    admin = f.login_as(client, f.user(Role.admin))
    tech = f.technician()
    slot = _spec(client)["components"]["schemas"]["ShiftSlot"]["properties"]["starts"]
    assert slot["type"] == "string" and slot["pattern"]
    ok = client.put(f"/api/v1/technicians/{tech.id}/shifts",
                    json={"slots": [{"weekday": 0, "starts": "08:30", "ends": "17:00:00"}]}, headers=admin)
    assert ok.status_code == 200, ok.get_json()
    for bad in ("8:30", "24:00", "08:30+08:00", "noon"):
        error = assert_error(client.put(f"/api/v1/technicians/{tech.id}/shifts",
                                        json={"slots": [{"weekday": 0, "starts": bad, "ends": "17:00"}]},
                                        headers=admin), 422, "validation_error")
        assert error["fields"]["json"]["slots"]["0"]["starts"]


def test_contract_hours_must_be_more_than_zero_in_the_document_and_the_server(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    hours = _spec(client)["components"]["schemas"]["ContractCreate"]["properties"]["response_hours"]
    assert hours["minimum"] == 0 and hours["exclusiveMinimum"] is True
    body = {"customer_id": str(f.customer().id), "name": "Gold", "starts_on": "2026-01-01",
            "response_hours": 0, "on_site_hours": 4, "resolve_hours": 8}
    assert_error(client.post("/api/v1/contracts", json=body, headers=headers), 422, "validation_error")
    assert client.post("/api/v1/contracts", json={**body, "response_hours": 0.5}, headers=headers).status_code == 201


def test_the_document_describes_healthz_and_tus(client):
    spec = _spec(client)
    health = spec["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    required = spec["components"]["schemas"][health["$ref"].rsplit("/", 1)[-1]]["required"]
    assert required == ["database", "media_queue", "status"]
    assert client.get("/healthz").get_json()["status"] == "ok"
    options = spec["paths"]["/api/v1/uploads/"]["options"]["responses"]["204"]["headers"]
    r = client.options("/api/v1/uploads/")
    assert r.status_code == 204
    for name, header in options.items():
        assert not header["required"] or name in r.headers, name
    assert {"Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Resumable"} <= set(options)
    create = spec["paths"]["/api/v1/uploads/"]["post"]
    assert {p["name"] for p in create["parameters"]} >= {"Tus-Resumable", "Upload-Length", "Upload-Metadata"}
    assert {"Location", "Upload-Expires"} <= set(create["responses"]["201"]["headers"])
    patch = spec["paths"]["/api/v1/uploads/{upload_id}"]["patch"]
    assert "application/offset+octet-stream" in patch["requestBody"]["content"]
    assert {p["name"] for p in patch["parameters"]} >= {"Tus-Resumable", "Upload-Offset"}


def test_monthly_statistics_take_months_the_document_can_state(client):
    """Found by the fuzzer: month=1089-10 answered from/to with a +08:05:43 offset, no RFC 3339 date-time."""
    headers = f.login_as(client, f.user(Role.dispatcher))
    assert_error(client.get("/api/v1/statistics/monthly?month=1089-10", headers=headers), 422, "validation_error")
    assert client.get("/api/v1/statistics/monthly?month=2026-11", headers=headers).status_code == 200


def test_an_unknown_tour_stop_is_not_found(client):
    """Found by the fuzzer: a contact for a stop that is not on the tour answered 500."""
    import uuid

    headers = f.login_as(client, f.user(Role.dispatcher))
    r = client.post(f"/api/v1/quality/tours/{uuid.uuid4()}/stops/{uuid.uuid4()}/contact",
                    json={"agreed": False, "contact_name": "Li"}, headers=headers)
    assert_error(r, 404, "not_found")
