"""Dispatch through the real HTTP stack, on SQLite and PostgreSQL: candidates
with their filters and scores, stock options, assignment and its races, swaps."""

from __future__ import annotations

import threading
import time as clock
from datetime import date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from server.accounts.models import Role
from server.db import utcnow
from server.dispatch.spatial import geodesic_m
from server.extensions import db
from server.jobs.models import Job, JobStatus
from server.stock import ledger
from server.stock.models import LocationKind, MovementKind, Reservation, SpareUnit, SpareUnitStatus
from server.technicians.models import Certification, ShiftException, ShiftSlot, Technician
from server.tickets.models import Ticket, TicketPart, TicketStatus
from tests import factories as f

SITE = (31.2304, 121.4737)  # People's Square, Shanghai
KM_PER_DEGREE_LAT = 110.9  # at 31° N, near enough for placing people


def north_of_site(km: float) -> tuple[float, float]:
    return SITE[0] + km / KM_PER_DEGREE_LAT, SITE[1]


def tech_at(km: float, **kwargs) -> Technician:
    lat, lon = north_of_site(km)
    return f.technician(latitude=lat, longitude=lon, **kwargs)


@pytest.fixture
def dispatcher(client):
    return f.login_as(client, f.user(Role.dispatcher))


@pytest.fixture
def site(app):
    return f.site(latitude=SITE[0], longitude=SITE[1])


@pytest.fixture
def ticket(site):
    return f.ticket(ast=f.asset(site, product_line="chiller", model="CH-200"))


def candidates(client, headers, ticket, **query):
    response = client.get(f"/api/v1/tickets/{ticket.id}/candidates", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def names(rows) -> list[str]:
    return [r["name"] for r in rows]


def put_in_stock(location_id, part_id, quantity):
    ledger.record_movement(db.session, kind=MovementKind.received, location_id=location_id, part_id=part_id,
                           quantity=quantity, at=utcnow())
    db.session.commit()


# --- ranking ---------------------------------------------------------------------------------------------------

def test_ranking_order_on_a_hand_checked_map(client, dispatcher, ticket):
    tech_at(20, name="Chen (20 km)")
    tech_at(1, name="Li (1 km)")
    tech_at(5, name="Wang (5 km)")
    body = candidates(client, dispatcher, ticket)
    assert names(body["candidates"]) == ["Li (1 km)", "Wang (5 km)", "Chen (20 km)"]
    assert [c["rank"] for c in body["candidates"]] == [1, 2, 3]
    li = body["candidates"][0]
    # 1 km by geodesic; 1.3 road factor at 50 km/h: 1.56 min; 50 × 360 / (360 + 1.56) ETA points.
    assert li["distance_km"] == pytest.approx(1.0, abs=0.01)
    assert li["eta_minutes"] == pytest.approx(1.0 * 1.3 / 50 * 60, abs=0.05)
    breakdown = li["score_breakdown"]
    assert set(breakdown) == {"eta", "deadline", "parts", "workload"}
    assert breakdown["eta"]["points"] == pytest.approx(50 * 360 / (360 + li["eta_minutes"]), rel=1e-3)
    assert breakdown["deadline"] == {"weight": 30.0, "points": 30.0, "value": True,
                                     "explanation": "meets the on-site deadline"}
    assert breakdown["workload"]["points"] == 8.0
    assert li["score"] == pytest.approx(sum(c["points"] for c in breakdown.values()), abs=1e-3)
    assert li["meets_deadline"] and li["on_shift_now"]
    assert body["search"] in ("sqlite_rtree", "postgis")
    assert body["excluded"] == []


def test_weights_are_configurable(app, client, dispatcher, ticket):
    near_busy = tech_at(1, name="near but busy", max_open_jobs=5)
    f.job(f.ticket(), near_busy)
    tech_at(10, name="free")
    assert names(candidates(client, dispatcher, ticket)["candidates"]) == ["near but busy", "free"]
    defaults = app.config["DISPATCH_WEIGHTS"]
    app.config["DISPATCH_WEIGHTS"] = {"eta": 10, "deadline": 30, "parts": 20, "workload": 40}
    try:
        body = candidates(client, dispatcher, ticket)
    finally:
        app.config["DISPATCH_WEIGHTS"] = defaults
    assert names(body["candidates"]) == ["free", "near but busy"]
    assert body["weights"]["workload"] == 40


def test_a_van_holding_the_needed_part_wins_over_a_slightly_nearer_one(client, dispatcher, site):
    part = f.part("VALVE-9")
    tkt = f.ticket(ast=f.asset(site))
    db.session.add(TicketPart(ticket_id=tkt.id, part_id=part.id, quantity=2))
    db.session.commit()
    tech_at(2, name="nearer, empty van")
    stocked = tech_at(3, name="van has the valve")
    put_in_stock(stocked.van_location_id, part.id, 2)
    body = candidates(client, dispatcher, tkt)
    assert names(body["candidates"]) == ["van has the valve", "nearer, empty van"]
    first, second = body["candidates"]
    assert first["van_holds"] == {"VALVE-9": 2}
    assert first["score_breakdown"]["parts"]["points"] == 12.0
    assert second["score_breakdown"]["parts"]["points"] == 0.0
    assert body["needs"] == [{"kind": "part", "label": "VALVE-9", "quantity": 2, "part_id": str(part.id)}]


def test_parts_on_a_van_never_outweigh_hours_of_driving(client, dispatcher, site):
    """A ticket already past its deadline: every candidate is late, and the one
    a day's drive away must not win because its van holds the part."""
    part = f.part("BELT-6")
    tkt = f.ticket(ast=f.asset(site), received_at=utcnow() - timedelta(hours=30))
    db.session.add(TicketPart(ticket_id=tkt.id, part_id=part.id, quantity=2))
    db.session.commit()
    stocked_far = tech_at(1100, name="1,100 km, both belts")
    put_in_stock(stocked_far.van_location_id, part.id, 2)
    near = tech_at(280, name="280 km, one belt")
    put_in_stock(near.van_location_id, part.id, 1)
    body = candidates(client, dispatcher, tkt)
    assert names(body["candidates"]) == ["280 km, one belt", "1,100 km, both belts"]
    assert not any(c["meets_deadline"] for c in body["candidates"])
    # One belt of the two needed counts for half the parts points.
    assert body["candidates"][0]["score_breakdown"]["parts"]["points"] == pytest.approx(6.0)


def test_a_van_holding_a_spare_unit_of_the_model_is_preferred_when_asked(client, dispatcher, ticket):
    tech_at(2, name="no unit")
    carrier = tech_at(3, name="carries a CH-200")
    f.spare_unit(db.session.get(Technician, carrier.id).van, model="CH-200")
    assert names(candidates(client, dispatcher, ticket)["candidates"])[0] == "no unit"
    body = candidates(client, dispatcher, ticket, with_spare_unit="true")
    assert names(body["candidates"])[0] == "carries a CH-200"
    assert body["candidates"][0]["van_holds"] == {"CH-200": 1}


# --- filters and their reasons ---------------------------------------------------------------------------------

def excluded_reasons(body) -> dict[str, list[str]]:
    return {e["name"]: [r["code"] for r in e["reasons"]] for e in body["excluded"]}


def test_each_filter_excludes_with_its_reason(client, dispatcher, ticket):
    tech_at(1, name="boilers only", product_lines=("boiler",))
    expired = tech_at(1.5, name="expired")
    expired.certifications[0].expires_on = date.today() - timedelta(days=2)
    expired.certifications[0].certified_on = date.today() - timedelta(days=400)
    on_leave = tech_at(2, name="on leave")
    db.session.add(ShiftException(technician_id=on_leave.id, kind="leave", starts_at=utcnow() - timedelta(hours=1),
                                  ends_at=utcnow() + timedelta(days=3)))
    off = tech_at(2.5, name="off shift")
    off.shifts.clear()
    busy = tech_at(3, name="overloaded", max_open_jobs=1)
    db.session.commit()
    f.job(f.ticket(), busy, status=JobStatus.en_route)
    tech_at(30, name="far but free")

    body = candidates(client, dispatcher, ticket)
    assert names(body["candidates"]) == ["far but free"]
    reasons = excluded_reasons(body)
    assert reasons == {"boilers only": ["not_certified"], "expired": ["certification_expired"],
                       "on leave": ["on_leave"], "off shift": ["off_shift"], "overloaded": ["overloaded"]}
    assert [e["name"] for e in body["excluded"]] == ["boilers only", "expired", "on leave", "off shift", "overloaded"]
    assert all(e["reasons"][0]["message"] for e in body["excluded"])


def test_the_filtered_out_list_is_the_nearest_ten_passed_over_whatever_the_reason(client, dispatcher, ticket):
    # The five nearest are free; the next eight hold no chiller certification;
    # three certified ones farther out are off shift. The ten filtered out
    # nearest the site are the eight uncertified and the two nearer off-shift
    # ones, however many free technicians came before them.
    for i in range(5):
        tech_at(1 + i * 0.2, name=f"free {i}")
    for i in range(8):
        tech_at(3 + i * 0.2, name=f"boilers {i}", product_lines=("boiler",))
    for i in range(3):
        off = tech_at(6 + i, name=f"off {i}")
        off.shifts.clear()
    db.session.commit()
    body = candidates(client, dispatcher, ticket)
    assert names(body["candidates"]) == [f"free {i}" for i in range(5)]
    assert names(body["excluded"]) == [f"boilers {i}" for i in range(8)] + ["off 0", "off 1"]
    assert excluded_reasons(body)["off 1"] == ["off_shift"]
    assert excluded_reasons(body)["boilers 7"] == ["not_certified"]


def test_no_one_beyond_the_farthest_ranked_technician_is_listed_as_filtered_out(app, client, dispatcher, ticket):
    tech_at(1, name="free near")
    tech_at(1.5, name="boilers near", product_lines=("boiler",))
    tech_at(2, name="free farther")
    tech_at(5, name="boilers far", product_lines=("boiler",))
    tech_at(5.5, name="free far")
    defaults = app.config["DISPATCH_CANDIDATE_POOL"]
    app.config["DISPATCH_CANDIDATE_POOL"] = 2
    try:
        body = candidates(client, dispatcher, ticket, limit=2)
    finally:
        app.config["DISPATCH_CANDIDATE_POOL"] = defaults
    assert names(body["candidates"]) == ["free near", "free farther"]
    assert names(body["excluded"]) == ["boilers near"]


def test_completed_and_cancelled_jobs_do_not_count_as_load(client, dispatcher, ticket):
    tech = tech_at(1, name="free again", max_open_jobs=1)
    f.job(f.ticket(), tech, status=JobStatus.completed)
    f.job(f.ticket(), tech, status=JobStatus.cancelled)
    assert names(candidates(client, dispatcher, ticket)["candidates"]) == ["free again"]


def _shift_starting_in(tech: Technician, hours: float, length_hours: float = 8):
    zone = ZoneInfo(tech.timezone)
    starts = (datetime.now(zone) + timedelta(hours=hours)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    ends = starts + timedelta(hours=length_hours)
    tech.shifts.clear()
    db.session.flush()
    tech.shifts.append(ShiftSlot(weekday=starts.weekday(), starts=starts.time(), ends=ends.time()))
    db.session.commit()
    return starts


def test_a_shift_starting_in_time_counts_and_one_too_late_does_not(client, dispatcher, ticket):
    soon = tech_at(1, name="starts in 3 h")
    starts = _shift_starting_in(soon, 3)
    late = tech_at(30, name="30 km away, starts in 23.5 h")
    _shift_starting_in(late, 23.5)
    body = candidates(client, dispatcher, ticket)
    assert names(body["candidates"]) == ["starts in 3 h"]
    candidate = body["candidates"][0]
    assert candidate["on_shift_now"] is False
    assert datetime.fromisoformat(candidate["departs_at"]) == starts
    assert candidate["eta_minutes"] > 180
    assert any("off shift now" in note for note in candidate["notes"])
    assert excluded_reasons(body) == {"30 km away, starts in 23.5 h": ["off_shift"]}
    assert "too late" in body["excluded"][0]["reasons"][0]["message"]


def test_a_certification_expiring_before_the_visit_is_refused(client, dispatcher, ticket):
    # Off shift until tomorrow; the certification ends today: not valid on the visit date.
    tech = tech_at(1, name="expires today")
    tech.certifications[0].expires_on = datetime.now(ZoneInfo(tech.timezone)).date()
    _shift_starting_in(tech, 20)
    body = candidates(client, dispatcher, ticket)
    assert body["candidates"] == []
    assert "certification_expired" in excluded_reasons(body)["expires today"]


# --- positions ------------------------------------------------------------------------------------------------

def test_stale_positions_are_marked_and_fresh_ones_are_not(client, dispatcher, ticket):
    fresh = tech_at(50, name="fresh")
    stale = tech_at(50, name="stale")
    for tech, age in ((fresh, 5), (stale, 120)):
        tech.last_latitude, tech.last_longitude = north_of_site(2 if tech is fresh else 3)
        tech.last_position_at = utcnow() - timedelta(minutes=age)
    db.session.commit()
    body = candidates(client, dispatcher, ticket)
    by_name = {c["name"]: c for c in body["candidates"]}
    assert by_name["fresh"]["position"]["stale"] is False
    assert by_name["stale"]["position"]["stale"] is True
    assert by_name["stale"]["position"]["age_minutes"] == pytest.approx(120, abs=1)
    assert any("stale" in note for note in by_name["stale"]["notes"])
    # Distances come from where they last were, not from home.
    assert by_name["fresh"]["distance_km"] == pytest.approx(2, abs=0.05)


def test_unknown_positions_fall_back_to_the_home_base_and_say_so(client, dispatcher, ticket):
    tech_at(4, name="never reported")
    (candidate,) = candidates(client, dispatcher, ticket)["candidates"]
    assert candidate["position"]["source"] == "home_base"
    assert candidate["distance_km"] == pytest.approx(4, abs=0.05)
    assert "home base" in candidate["notes"][0]


def test_a_site_without_coordinates_is_a_clear_422(client, dispatcher):
    nowhere = f.site(latitude=None, longitude=None)
    tkt = f.ticket(ast=f.asset(nowhere))
    tech_at(1)
    for path in ("candidates", "stock-options"):
        response = client.get(f"/api/v1/tickets/{tkt.id}/{path}", headers=dispatcher)
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "site_without_coordinates"


def test_a_closed_ticket_gets_no_candidates(client, dispatcher, ticket):
    ticket.status = TicketStatus.closed
    db.session.commit()
    response = client.get(f"/api/v1/tickets/{ticket.id}/candidates", headers=dispatcher)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "ticket_not_open"


# --- stock options ---------------------------------------------------------------------------------------------

def test_stock_options_nearest_with_available_quantity_and_transfer_time(client, dispatcher, site):
    part = f.part("BRD-1")
    tkt = f.ticket(ast=f.asset(site, warranty_end=None))
    db.session.add(TicketPart(ticket_id=tkt.id, part_id=part.id, quantity=1))
    db.session.commit()
    lat, lon = north_of_site(3)
    all_reserved = f.location(LocationKind.service_station, lat, lon, code="ALLRES")
    put_in_stock(all_reserved.id, part.id, 1)
    ledger.reserve_part(db.session, location_id=all_reserved.id, part_id=part.id, quantity=1)
    db.session.commit()
    last_one = f.location(LocationKind.service_station, *north_of_site(5), code="LAST1")
    put_in_stock(last_one.id, part.id, 1)
    plenty = f.location(LocationKind.regional_warehouse, *north_of_site(40), code="PLENTY")
    put_in_stock(plenty.id, part.id, 6)
    f.location(LocationKind.central_warehouse, *north_of_site(1), code="EMPTY")

    response = client.get(f"/api/v1/tickets/{tkt.id}/stock-options", headers=dispatcher)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["under_warranty"] is False
    (item,) = body["items"]
    assert item["need"]["label"] == "BRD-1"
    options = {o["code"]: o for o in item["options"]}
    assert set(options) == {"LAST1", "PLENTY"}  # nothing available elsewhere
    # Outside warranty the last unit is held for warranty repairs: the warehouse comes first.
    assert [o["code"] for o in item["options"]] == ["PLENTY", "LAST1"]
    assert options["LAST1"] | {} == options["LAST1"]
    assert (options["LAST1"]["available"], options["LAST1"]["claimable"], options["LAST1"]["held_for_warranty"]) \
        == (1, 0, 1)
    assert options["PLENTY"]["available"] == 6 and options["PLENTY"]["claimable"] == 5
    assert options["PLENTY"]["transfer_hours"] == pytest.approx(40 * 1.3 / 60 + 2, abs=0.02)
    assert options["LAST1"]["distance_km"] == pytest.approx(5, abs=0.05)


def test_warranty_repairs_have_first_claim_on_the_last_unit(client, dispatcher, site):
    part = f.part("BRD-2")
    tkt = f.ticket(ast=f.asset(site, warranty_end=date.today() + timedelta(days=90)))
    last_one = f.location(LocationKind.service_station, *north_of_site(5), code="ONLY1")
    put_in_stock(last_one.id, part.id, 1)
    response = client.get(f"/api/v1/tickets/{tkt.id}/stock-options", query_string={"part_number": "BRD-2"},
                          headers=dispatcher)
    body = response.get_json()
    assert body["under_warranty"] is True
    (option,) = body["items"][0]["options"]
    assert (option["claimable"], option["sufficient"]) == (1, True)


def test_stock_options_for_a_spare_unit_model(client, dispatcher, ticket):
    near = f.location(LocationKind.service_station, *north_of_site(2), code="SU-NEAR")
    far = f.location(LocationKind.regional_warehouse, *north_of_site(80), code="SU-FAR")
    f.spare_unit(near, model="CH-900")  # another model
    f.spare_unit(far, model="CH-200", serial_number="SU-A")
    f.spare_unit(far, model="CH-200", serial_number="SU-B")
    f.spare_unit(far, model="CH-200", serial_number="SU-C", status=SpareUnitStatus.loaned)
    response = client.get(f"/api/v1/tickets/{ticket.id}/stock-options", headers=dispatcher)
    (item,) = response.get_json()["items"]
    assert item["need"] == {"kind": "spare_unit", "label": "CH-200", "quantity": 1, "part_id": None}
    (option,) = item["options"]
    assert option["code"] == "SU-FAR" and option["available"] == 2
    assert [u["serial_number"] for u in option["spare_units"]] == ["SU-A", "SU-B"]


def test_stock_options_for_an_unknown_part_number_is_404(client, dispatcher, ticket):
    response = client.get(f"/api/v1/tickets/{ticket.id}/stock-options", query_string={"part_number": "NOPE"},
                          headers=dispatcher)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_part"


# --- assigning ---------------------------------------------------------------------------------------------------

def test_an_assigned_job_reaches_the_technicians_next_pull_with_what_it_needs(client, dispatcher, ticket):
    from tests.syncing import Handheld

    tech = tech_at(2, name="Sun")
    other = tech_at(3, name="Qian")
    device, bystander = Handheld(client, tech), Handheld(client, other, device_id="handheld-2")
    device.pull()
    bystander.pull()
    response = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=dispatcher,
                           json={"technician_id": str(tech.id)})
    assert response.status_code == 201, response.get_json()
    job_id = response.get_json()["job"]["id"]

    arrived = {(c["table"], c["id"]) for c in device.pull()}
    assert ("jobs", job_id) in arrived
    assert device.copy[("jobs", job_id)]["status"] == "assigned"
    # ... with the ticket, customer, site and asset the job needs.
    for table, record_id in (("tickets", ticket.id), ("customers", ticket.customer_id), ("sites", ticket.site_id),
                             ("assets", ticket.asset_id)):
        assert (table, str(record_id)) in device.copy, table
    # Nobody else's device hears of it.
    assert not any(c["table"] == "jobs" for c in bystander.pull())


def test_assigning_creates_the_job_reserves_stock_and_dispatches(client, dispatcher, site):
    part = f.part("PUMP-1")
    tkt = f.ticket(ast=f.asset(site, warranty_end=date.today() + timedelta(days=30)))
    store = f.location(LocationKind.service_station, *north_of_site(4))
    put_in_stock(store.id, part.id, 3)
    tech = tech_at(2, name="Zhao")
    unit = f.spare_unit(store, model="CH-200")
    response = client.post(f"/api/v1/tickets/{tkt.id}/assign", headers=dispatcher, json={
        "technician_id": str(tech.id), "parts": [{"part_id": str(part.id), "location_id": str(store.id),
                                                  "quantity": 2}],
        "spare_unit_id": str(unit.id), "instructions": "bring the pump"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["ticket_status"] == "dispatched"
    assert body["job"]["technician_id"] == str(tech.id) and body["job"]["status"] == "assigned"
    assert body["meets_deadline"] is True
    # Both reservations are for a repair under warranty: the ledger judges it from the ticket's asset.
    assert sorted((r["part_id"] is None, r["quantity"], r["under_warranty"]) for r in body["reservations"]) == \
        [(False, 2, True), (True, 1, True)]

    db.session.expire_all()
    assert ledger.quantities(db.session, part.id, [store.id])[store.id] == ledger.Quantity(3, 2)
    assert db.session.get(SpareUnit, unit.id).status is SpareUnitStatus.reserved
    ticket_row = db.session.get(Ticket, tkt.id)
    assert ticket_row.status is TicketStatus.dispatched and ticket_row.responded_at is not None
    assert ticket_row.events[-1].note == "assigned to Zhao"

    # The technician sees the job (their device's next pull needs the sync engine; see the report).
    tech_headers = f.login_as(client, tech)
    jobs = client.get("/api/v1/jobs", headers=tech_headers).get_json()["items"]
    assert [j["id"] for j in jobs] == [body["job"]["id"]]
    assert jobs[0]["instructions"] == "bring the pump"

    again = client.post(f"/api/v1/tickets/{tkt.id}/assign", headers=dispatcher,
                        json={"technician_id": str(tech.id)})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "ticket_already_dispatched"


def test_assigning_someone_unavailable_is_409_with_the_reasons(client, dispatcher, ticket):
    tech = tech_at(1, product_lines=("boiler",))
    response = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=dispatcher,
                           json={"technician_id": str(tech.id)})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "technician_unavailable"
    assert [r["code"] for r in error["details"]["reasons"]] == ["not_certified"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_outside_warranty_the_last_unit_cannot_be_taken_and_nothing_is_kept(client, dispatcher, site):
    part = f.part("FAN-1")
    tkt = f.ticket(ast=f.asset(site, warranty_end=date.today() - timedelta(days=1)))
    store = f.location(LocationKind.service_station, *north_of_site(4))
    put_in_stock(store.id, part.id, 1)
    tech = tech_at(2)
    response = client.post(f"/api/v1/tickets/{tkt.id}/assign", headers=dispatcher, json={
        "technician_id": str(tech.id), "parts": [{"part_id": str(part.id), "location_id": str(store.id)}]})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "held_for_warranty"
    db.session.expire_all()
    assert ledger.quantities(db.session, part.id, [store.id])[store.id] == ledger.Quantity(1, 0)
    assert db.session.get(Ticket, tkt.id).status is TicketStatus.new
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_assigning_more_than_is_available_is_409(client, dispatcher, site):
    part = f.part("FAN-2")
    tkt = f.ticket(ast=f.asset(site, warranty_end=date.today() + timedelta(days=10)))
    store = f.location(LocationKind.service_station, *north_of_site(4))
    put_in_stock(store.id, part.id, 1)
    response = client.post(f"/api/v1/tickets/{tkt.id}/assign", headers=dispatcher, json={
        "technician_id": str(tech_at(2).id),
        "parts": [{"part_id": str(part.id), "location_id": str(store.id), "quantity": 2}]})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "insufficient_stock"


def _hold_row_lock_while_both_wait(app, lock_sql: str, params: dict, fire):
    """Hold a row lock from a third connection until both requests are blocked on
    it, then let go: the two really run at the same time."""
    with db.engine.connect() as holder:
        holder.execute(sa.text(lock_sql), params)
        results = fire()
        deadline = clock.monotonic() + 20
        waiting = 0
        while waiting < 2 and clock.monotonic() < deadline:
            clock.sleep(0.02)
            waiting = holder.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )).scalar()
        holder.rollback()
    outcomes = results()
    assert waiting >= 2, f"the two assignments never waited on the same row: {outcomes}"
    return outcomes


def _race(app, requests):
    outcomes = [None] * len(requests)

    def run(i, path, body, headers):
        with app.test_client() as own_client:
            response = own_client.post(path, json=body, headers=headers)
            outcomes[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, *req)) for i, req in enumerate(requests)]
    for thread in threads:
        thread.start()

    def join():
        for thread in threads:
            thread.join(timeout=30)
        return outcomes

    return join


@pytest.fixture
def postgres_only(backend):
    if backend != "postgresql":
        pytest.skip("the race is shown on PostgreSQL, with real parallel connections; SQLite serialises writers")


def test_race_for_the_last_spare_unit_on_postgresql(app, client, dispatcher, site, postgres_only):
    store = f.location(LocationKind.service_station, *north_of_site(4))
    unit = f.spare_unit(store, model="CH-200")
    tickets = [f.ticket(ast=f.asset(site)) for _ in range(2)]
    techs = [tech_at(1 + i) for i in range(2)]
    other = f.login_as(client, f.user(Role.dispatcher))
    requests = [(f"/api/v1/tickets/{t.id}/assign", {"technician_id": str(tech.id), "spare_unit_id": str(unit.id)},
                 headers) for t, tech, headers in zip(tickets, techs, (dispatcher, other), strict=True)]
    outcomes = _hold_row_lock_while_both_wait(app, "SELECT 1 FROM spare_units WHERE id = :id FOR UPDATE",
                                              {"id": unit.id}, lambda: _race(app, requests))
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [201, 409], outcomes
    loser = next(body for status, body in outcomes if status == 409)
    assert loser["error"]["code"] == "spare_unit_unavailable"
    db.session.expire_all()
    active = db.session.scalars(sa.select(Reservation).where(Reservation.spare_unit_id == unit.id)).all()
    assert len(active) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1
    assert sorted(db.session.get(Ticket, t.id).status.value for t in tickets) == ["dispatched", "new"]


def test_race_for_the_same_technician_slot_on_postgresql(app, client, dispatcher, site, postgres_only):
    tech = tech_at(1, max_open_jobs=1)
    tickets = [f.ticket(ast=f.asset(site)) for _ in range(2)]
    other = f.login_as(client, f.user(Role.dispatcher))
    requests = [(f"/api/v1/tickets/{t.id}/assign", {"technician_id": str(tech.id)}, headers)
                for t, headers in zip(tickets, (dispatcher, other), strict=True)]
    outcomes = _hold_row_lock_while_both_wait(app, "SELECT 1 FROM technicians WHERE id = :id FOR UPDATE",
                                              {"id": tech.id}, lambda: _race(app, requests))
    assert sorted(status for status, _ in outcomes) == [201, 409], outcomes
    loser = next(body for status, body in outcomes if status == 409)
    assert loser["error"]["code"] == "technician_unavailable"
    assert [r["code"] for r in loser["error"]["details"]["reasons"]] == ["overloaded"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1


def test_race_for_the_same_ticket_on_postgresql(app, client, dispatcher, ticket, postgres_only):
    techs = [tech_at(1), tech_at(2)]
    other = f.login_as(client, f.user(Role.dispatcher))
    requests = [(f"/api/v1/tickets/{ticket.id}/assign", {"technician_id": str(t.id)}, headers)
                for t, headers in zip(techs, (dispatcher, other), strict=True)]
    outcomes = _hold_row_lock_while_both_wait(app, "SELECT 1 FROM tickets WHERE id = :id FOR UPDATE",
                                              {"id": ticket.id}, lambda: _race(app, requests))
    assert sorted(status for status, _ in outcomes) == [201, 409], outcomes
    assert next(b for s, b in outcomes if s == 409)["error"]["code"] == "ticket_already_dispatched"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1


def test_the_same_race_one_after_the_other_on_every_engine(client, dispatcher, site):
    store = f.location(LocationKind.service_station, *north_of_site(4))
    unit = f.spare_unit(store, model="CH-200")
    first, second = (f.ticket(ast=f.asset(site)) for _ in range(2))
    ok = client.post(f"/api/v1/tickets/{first.id}/assign", headers=dispatcher,
                     json={"technician_id": str(tech_at(1).id), "spare_unit_id": str(unit.id)})
    late = client.post(f"/api/v1/tickets/{second.id}/assign", headers=dispatcher,
                       json={"technician_id": str(tech_at(2).id), "spare_unit_id": str(unit.id)})
    assert (ok.status_code, late.status_code) == (201, 409)
    assert late.get_json()["error"]["code"] == "spare_unit_unavailable"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1


# --- swaps -----------------------------------------------------------------------------------------------------

def test_a_job_on_site_over_four_hours_gets_a_swap_suggestion(client, dispatcher, site):
    tkt = f.ticket(ast=f.asset(site, model="CH-200"), status=TicketStatus.on_site)
    on_site = tech_at(0, name="on site")
    stuck = f.job(tkt, on_site, status=JobStatus.on_site, arrived_at=utcnow() - timedelta(hours=4, minutes=30))
    fresh = f.job(f.ticket(ast=f.asset(site)), tech_at(0.1, name="just arrived"), status=JobStatus.on_site,
                  arrived_at=utcnow() - timedelta(hours=1))
    warehouse = f.location(LocationKind.regional_warehouse, *north_of_site(30), code="WH30")
    f.spare_unit(warehouse, model="CH-200", serial_number="SU-WH")
    van_owner = tech_at(12, name="has one in the van")
    f.spare_unit(db.session.get(Technician, van_owner.id).van, model="CH-200", serial_number="SU-VAN")
    f.spare_unit(f.location(LocationKind.service_station, *north_of_site(3)), model="CH-900")
    tech_at(29, name="near the warehouse")

    response = client.get("/api/v1/dispatch/swap-suggestions", headers=dispatcher)
    assert response.status_code == 200, response.get_json()
    (suggestion,) = response.get_json()["items"]
    assert suggestion["job_id"] == str(stuck.id) and suggestion["model"] == "CH-200"
    assert suggestion["note_code"] is None
    assert suggestion["on_site_hours"] == pytest.approx(4.5, abs=0.05)
    best = suggestion["options"][0]
    assert best["serial_number"] == "SU-VAN"
    assert best["couriers"][0]["name"] == "has one in the van"
    assert best["couriers"][0]["holds_unit_in_van"] is True
    assert best["couriers"][0]["delivery_minutes"] == pytest.approx(12 * 1.3 / 50 * 60, abs=0.5)
    warehouse_option = next(o for o in suggestion["options"] if o["serial_number"] == "SU-WH")
    assert warehouse_option["couriers"][0]["name"] == "near the warehouse"
    assert all(c["name"] != "on site" for o in suggestion["options"] for c in o["couriers"])

    one = client.get(f"/api/v1/jobs/{fresh.id}/swap-suggestion", headers=dispatcher).get_json()
    assert one["options"] == [] and "no swap needed" in one["note"] and one["note_code"] == "not_due"


# --- roles -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.technician, Role.warehouse])
def test_only_dispatchers_and_admins_dispatch(client, ticket, role):
    account = tech_at(1) if role is Role.technician else f.user(role)
    headers = f.login_as(client, account)
    for method, path in (("get", f"/api/v1/tickets/{ticket.id}/candidates"),
                         ("get", f"/api/v1/tickets/{ticket.id}/stock-options"),
                         ("post", f"/api/v1/tickets/{ticket.id}/assign"),
                         ("get", "/api/v1/dispatch/swap-suggestions")):
        kwargs = {"json": {"technician_id": str(ticket.id)}} if method == "post" else {}
        response = getattr(client, method)(path, headers=headers, **kwargs)
        assert response.status_code == 403, path
        assert response.get_json()["error"]["code"] == "role_forbidden"


def test_admins_dispatch_too(client, ticket):
    tech_at(1)
    headers = f.login_as(client, f.user(Role.admin))
    assert client.get(f"/api/v1/tickets/{ticket.id}/candidates", headers=headers).status_code == 200


def test_geodesic_helper_agrees_with_the_hand_figure():
    # One degree of latitude at 31° N is about 110.9 km on WGS-84.
    assert geodesic_m(30.5, 121.0, 31.5, 121.0) / 1000 == pytest.approx(110.9, abs=0.1)


def test_certifications_and_shifts_fixtures_are_what_the_tests_assume(app):
    tech = tech_at(1)
    assert len(tech.shifts) == 7 and tech.shifts[0].starts == time(0, 0)
    assert isinstance(tech.certifications[0], Certification)


def test_shift_windows_shared_within_a_query_decide_as_worked_out_alone():
    # find_candidates lets technicians with the same weekly slots and zone share their shift
    # windows within a query: every verdict must be the one assess reaches on its own.
    import random

    from server.dispatch import availability
    from server.dispatch.availability import Cert, Leave, Slot, TechnicianFacts, TechnicianRecord

    rng = random.Random(7)
    now = datetime(2026, 12, 2, 2, 0, tzinfo=ZoneInfo("UTC"))
    patterns = [tuple(Slot(d, time(8), time(18)) for d in range(6)),
                tuple(Slot(d, time(20), time(8)) for d in range(5)),
                tuple(Slot(d, time(0), time(23, 59)) for d in range(7)), ()]
    for due_hours in (1, 5, 24, 80):
        due, shared = now + timedelta(hours=due_hours), {}
        for _ in range(120):
            leaves = [Leave(now + timedelta(hours=rng.randint(-30, 10)), now + timedelta(hours=rng.randint(11, 60)))
                      ] if rng.random() < 0.3 else []
            record = TechnicianRecord(uuid4(), "t", rng.choice(("Asia/Shanghai", "Europe/Paris", "Nowhere/Else")),
                                      rng.choice((1, 3)), None, None, None, None, 31.0, 121.0)
            facts = TechnicianFacts(record, [Cert(now.date() - timedelta(days=9), now.date() + timedelta(days=1))],
                                    list(rng.choice(patterns)), leaves, rng.randint(0, 3))
            travel = timedelta(minutes=rng.randint(0, 600))
            alone = availability.assess(facts, product_line="chiller", now=now, due=due, travel=travel)
            assert availability.assess(facts, product_line="chiller", now=now, due=due, travel=travel,
                                       windows_cache=shared) == alone
        assert 0 < len(shared) <= 3 * len(patterns)


def test_weekly_slots_read_back_as_stored(app, backend):
    # PostgreSQL writes rows of integers and times as JSON by concatenation (json_build_array
    # is slow): what the filters read back is what was stored, as json_build_array would give it.
    from server.dispatch import availability

    tech = tech_at(1)
    tech.shifts.clear()
    tech.shifts.extend([ShiftSlot(weekday=6, starts=time(23, 59, 30, 500000), ends=time(0, 0)),
                        ShiftSlot(weekday=0, starts=time(8), ends=time(18, 15))])
    db.session.commit()
    slots = ShiftSlot.__table__
    fast = sa.select(availability.json_rows(backend, slots.c.weekday, slots.c.starts, slots.c.ends)).where(
        slots.c.technician_id == tech.id)
    if backend == "postgresql":
        general = sa.select(sa.cast(sa.func.json_agg(sa.func.json_build_array(slots.c.weekday, slots.c.starts,
                                                                              slots.c.ends)), sa.Text))
    else:
        general = sa.select(sa.func.json_group_array(sa.func.json_array(slots.c.weekday, slots.c.starts,
                                                                        slots.c.ends)))
    general = general.where(slots.c.technician_id == tech.id)
    read = sorted(availability._slots(db.session.scalar(fast)))
    assert read == sorted(availability._slots(db.session.scalar(general)))
    assert read == [(0, time(8), time(18, 15)), (6, time(23, 59, 30, 500000), time(0, 0))]
    nobody = sa.select(availability.json_rows(backend, slots.c.weekday, slots.c.starts, slots.c.ends)).where(
        slots.c.technician_id == uuid4())
    assert availability._slots(db.session.scalar(nobody)) == ()


def test_stock_options_for_different_parts_share_one_statement_and_find_each_parts_stock(client, dispatcher, site):
    from server.dispatch import spatial

    first, second = f.part("SHARE-1"), f.part("SHARE-2")
    tkt = f.ticket(ast=f.asset(site, warranty_end=None))
    has_first = f.location(LocationKind.regional_warehouse, *north_of_site(4), code="HAS-1")
    has_second = f.location(LocationKind.regional_warehouse, *north_of_site(9), code="HAS-2")
    put_in_stock(has_first.id, first.id, 3)
    put_in_stock(has_second.id, second.id, 3)
    db.session.commit()

    def codes(part_number):
        response = client.get(f"/api/v1/tickets/{tkt.id}/stock-options", query_string={"part_number": part_number},
                              headers=dispatcher)
        assert response.status_code == 200, response.get_json()
        return [o["code"] for o in response.get_json()["items"][0]["options"]]

    assert codes("SHARE-1") == ["HAS-1"]
    statements = len(spatial._STATEMENTS)
    assert codes("SHARE-2") == ["HAS-2"]  # the part is a bound value, not a new statement
    assert len(spatial._STATEMENTS) == statements
