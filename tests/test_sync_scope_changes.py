"""Scope changes other than a job changing hands, through the real HTTP stack
and real pulls: a technician's van changing, a ticket's site/asset/customer
changing, a spare unit leaving the van. After each, the device's copy (kept
by incremental pulls) equals the server's view of its scope (a first sync)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Job
from server.stock.ledger import record_movement
from server.stock.models import LocationKind, MovementKind, SpareUnit, StockLocation
from server.tickets.models import Ticket
from sync import changelog
from sync.pull import snapshot
from tests import factories as f
from tests.conftest import empty_all_tables
from tests.syncing import Handheld, part_usage


def _office(client):
    return f.login_as(client, f.user(Role.dispatcher))


def _stock(location_id, parts, quantity=3):
    for part in parts:
        record_movement(db.session, kind=MovementKind.issued_in, location_id=location_id, part_id=part.id,
                        quantity=quantity, at=utcnow())
    db.session.commit()


def _matches_a_first_sync(device: Handheld) -> None:
    db.session.expire_all()
    assert device.copy == snapshot(db.session, device.technician.id)
    fresh = Handheld(device.client, device.technician, device_id=f"fresh-{id(device)}")
    fresh.pull(limit=3)  # paginated first sync over HTTP
    assert fresh.copy == device.copy


def _level(location_id, part) -> tuple[str, str]:
    return ("stock_levels", f"{location_id}:{part.id}")


# ---- vans ----------------------------------------------------------------------------------------------------

def test_a_new_van_brings_its_stock_and_takes_the_old_vans_away(client):
    tech = f.technician()
    f.job(tech=tech)
    old_van = tech.van_location_id
    new_van = f.location(LocationKind.van).id
    old_parts, new_parts = [f.part() for _ in range(3)], [f.part() for _ in range(2)]
    _stock(old_van, old_parts)
    _stock(new_van, new_parts + old_parts[:1], quantity=7)
    old_unit = f.spare_unit(db.session.get(StockLocation, old_van))
    new_unit = f.spare_unit(db.session.get(StockLocation, new_van))
    device = Handheld(client, tech)
    device.pull()
    assert _level(old_van, old_parts[0]) in device.copy and ("spare_units", str(old_unit.id)) in device.copy
    assert _level(new_van, new_parts[0]) not in device.copy

    response = client.patch(f"/api/v1/technicians/{tech.id}", json={"van_location_id": str(new_van)},
                            headers=_office(client))
    assert response.status_code == 200, response.get_json()
    changes = device.pull()
    gone = {(c["table"], c["id"]) for c in changes if c["deleted"]}
    came = {(c["table"], c["id"]) for c in changes if not c["deleted"]}
    assert gone == {_level(old_van, p) for p in old_parts} | {("spare_units", str(old_unit.id))}
    assert all(c["reason"] == "out_of_scope" for c in changes if c["deleted"])
    assert came == {_level(new_van, p) for p in new_parts + old_parts[:1]} | {("spare_units", str(new_unit.id))}
    assert device.copy[_level(new_van, old_parts[0])]["on_hand"] == 7
    _matches_a_first_sync(device)

    # Later changes follow the new van only.
    _stock(old_van, old_parts[:1])
    _stock(new_van, new_parts[:1])
    assert [(c["table"], c["id"]) for c in device.pull()] == [_level(new_van, new_parts[0])]
    # A part used now comes off the new van.
    job_id = db.session.scalar(select(Job.id).where(Job.technician_id == tech.id))
    answer = device.push([part_usage(job_id, new_parts[1].id)])
    assert answer["results"][0]["status"] == "applied"
    device.pull()
    assert device.copy[_level(new_van, new_parts[1])]["on_hand"] == 6
    _matches_a_first_sync(device)


def test_a_cleared_van_leaves_nothing_of_it_and_its_next_holder_gets_it_all(client):
    first, second = f.technician(), f.technician(with_van=False)
    f.job(tech=first)
    f.job(tech=second)
    van = first.van_location_id
    parts = [f.part() for _ in range(2)]
    _stock(van, parts)
    unit = f.spare_unit(db.session.get(StockLocation, van))
    office = _office(client)
    first_device, second_device = Handheld(client, first), Handheld(client, second, device_id="handheld-2")
    first_device.pull()
    second_device.pull()

    assert client.patch(f"/api/v1/technicians/{first.id}", json={"van_location_id": None},
                        headers=office).status_code == 200
    assert client.patch(f"/api/v1/technicians/{second.id}", json={"van_location_id": str(van)},
                        headers=office).status_code == 200
    gone = {(c["table"], c["id"]) for c in first_device.pull() if c["deleted"]}
    assert gone == {_level(van, p) for p in parts} | {("spare_units", str(unit.id))}
    assert not any(table in ("stock_levels", "spare_units") for table, _ in first_device.copy)
    second_device.pull()
    assert {_level(van, p) for p in parts} | {("spare_units", str(unit.id))} <= set(second_device.copy)
    _matches_a_first_sync(first_device)
    _matches_a_first_sync(second_device)


def test_a_van_changed_by_a_core_update_rescopes_too(client):
    tech = f.technician()
    part = f.part()
    old_van, new_van = tech.van_location_id, f.location(LocationKind.van).id
    _stock(old_van, [part])
    _stock(new_van, [part], quantity=2)
    device = Handheld(client, tech)
    device.pull()
    from server.technicians.models import Technician

    db.session.execute(update(Technician).where(Technician.id == tech.id).values(van_location_id=new_van))
    db.session.commit()
    changes = device.pull()
    assert {(c["table"], c["id"], c["deleted"]) for c in changes} == {
        (*_level(old_van, part), True), (*_level(new_van, part), False)}
    _matches_a_first_sync(device)
    # An ORM bulk UPDATE by primary key (one parameter set per row) too.
    db.session.execute(update(Technician), [{"id": tech.id, "van_location_id": old_van}])
    db.session.commit()
    changes = device.pull()
    assert {(c["table"], c["id"], c["deleted"]) for c in changes} == {
        (*_level(old_van, part), False), (*_level(new_van, part), True)}
    _matches_a_first_sync(device)


def test_a_spare_unit_leaving_the_van_leaves_the_device(client):
    tech = f.technician()
    warehouse = f.location()
    van = db.session.get(StockLocation, tech.van_location_id)
    leaving, staying = f.spare_unit(van), f.spare_unit(van)
    device = Handheld(client, tech)
    device.pull()
    unit = db.session.get(SpareUnit, leaving.id)
    unit.location_id = warehouse.id
    db.session.commit()
    changes = device.pull()
    assert changes == [{"table": "spare_units", "id": str(leaving.id), "version": None, "deleted": True,
                        "reason": "out_of_scope"}]
    assert ("spare_units", str(staying.id)) in device.copy
    # And coming back brings it again.
    unit = db.session.get(SpareUnit, leaving.id)
    unit.location_id = van.id
    db.session.commit()
    assert [(c["id"], c["deleted"]) for c in device.pull()] == [(str(leaving.id), False)]
    _matches_a_first_sync(device)


# ---- tickets: site, asset, customer ---------------------------------------------------------------------------

def test_a_ticket_moved_to_another_site_and_asset_follows_on_the_device(client):
    tech = f.technician()
    old_site = f.site()
    old_asset, kept_asset = f.asset(old_site), f.asset(old_site)
    moving = f.ticket(st=old_site, ast=old_asset)
    staying = f.ticket(st=old_site, ast=kept_asset)  # another job still needs the old site and customer
    f.job(tkt=moving, tech=tech)
    f.job(tkt=staying, tech=tech)
    other_customer_site = f.site()
    new_asset = f.asset(other_customer_site)
    device = Handheld(client, tech)
    device.pull()
    office = _office(client)

    response = client.patch(f"/api/v1/tickets/{moving.id}",
                            json={"site_id": str(other_customer_site.id), "asset_id": str(new_asset.id)},
                            headers=office)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["customer_id"] == str(other_customer_site.customer_id)
    changes = device.pull()
    gone = {(c["table"], c["id"]) for c in changes if c["deleted"]}
    came = {(c["table"], c["id"]) for c in changes if not c["deleted"]}
    assert gone == {("assets", str(old_asset.id))}  # the old site and customer are still needed
    assert {("tickets", str(moving.id)), ("sites", str(other_customer_site.id)), ("assets", str(new_asset.id)),
            ("customers", str(other_customer_site.customer_id))} <= came
    assert device.copy[("tickets", str(moving.id))]["site_id"] == str(other_customer_site.id)
    _matches_a_first_sync(device)

    # The other ticket moves too: now the old site and customer leave as well.
    third_site = f.site(db.session.get(Ticket, staying.id).customer)
    third_asset = f.asset(third_site)
    assert client.patch(f"/api/v1/tickets/{staying.id}",
                        json={"site_id": str(third_site.id), "asset_id": str(third_asset.id)},
                        headers=office).status_code == 200
    gone = {(c["table"], c["id"]) for c in device.pull() if c["deleted"]}
    assert gone == {("sites", str(old_site.id)), ("assets", str(kept_asset.id))}
    _matches_a_first_sync(device)


def test_a_ticket_change_is_checked(client):
    ticket = f.ticket()
    office = _office(client)
    elsewhere = f.site()
    refused = client.patch(f"/api/v1/tickets/{ticket.id}", json={"site_id": str(elsewhere.id)}, headers=office)
    assert refused.status_code == 422 and "site_id" in refused.get_json()["error"]["fields"]["json"]
    wrong_asset = f.asset()
    refused = client.patch(f"/api/v1/tickets/{ticket.id}", json={"asset_id": str(wrong_asset.id)}, headers=office)
    assert refused.status_code == 422
    unknown = client.patch(f"/api/v1/tickets/{ticket.id}", json={"site_id": str(wrong_asset.id)}, headers=office)
    assert unknown.status_code == 422
    moved = client.patch(f"/api/v1/tickets/{ticket.id}", json={"site_id": str(elsewhere.id), "asset_id": None},
                         headers=office)
    assert moved.status_code == 200 and moved.get_json()["asset_id"] is None
    closed = f.ticket(status="closed")
    refused = client.patch(f"/api/v1/tickets/{closed.id}", json={"asset_id": None}, headers=office)
    assert refused.status_code == 409
    technician = f.login_as(client, f.technician())
    assert client.patch(f"/api/v1/tickets/{ticket.id}", json={"asset_id": None},
                        headers=technician).status_code == 403


def test_a_job_moved_to_another_ticket_and_a_core_ticket_update_rescope(client):
    tech = f.technician()
    first, second = f.ticket(), f.ticket()
    job = f.job(tkt=first, tech=tech)
    device = Handheld(client, tech)
    device.pull()
    row = db.session.get(Job, job.id)
    row.ticket_id = second.id
    db.session.commit()
    changes = device.pull()
    gone = {(c["table"], c["id"]) for c in changes if c["deleted"]}
    assert gone == {("tickets", str(first.id)), ("customers", str(first.customer_id)),
                    ("sites", str(first.site_id)), ("assets", str(first.asset_id))}
    assert {("tickets", str(second.id)), ("sites", str(second.site_id))} <= set(device.copy)
    _matches_a_first_sync(device)

    old_asset = second.asset_id
    new_asset = f.asset(db.session.get(Ticket, second.id).site)
    db.session.execute(update(Ticket).where(Ticket.id == second.id).values(asset_id=new_asset.id))
    db.session.commit()
    changes = device.pull()
    assert {(c["table"], c["id"]) for c in changes if c["deleted"]} == {("assets", str(old_asset))}
    assert ("assets", str(new_asset.id)) in device.copy
    _matches_a_first_sync(device)


def test_retention_still_tells_a_device_that_missed_a_scope_change_to_resync(client):
    tech = f.technician()
    old_van = tech.van_location_id
    part = f.part()
    _stock(old_van, [part])
    device = Handheld(client, tech)
    device.pull()
    assert client.patch(f"/api/v1/technicians/{tech.id}", json={"van_location_id": None},
                        headers=_office(client)).status_code == 200
    changelog.prune(db.session, retention=timedelta(0), now=utcnow() + timedelta(seconds=1))
    db.session.commit()
    assert device.pull_page(device.cursor, expect=410)["error"]["code"] == "resync_required"


# ---- a former technician, long after the job left them -------------------------------------------------------

def test_work_done_by_a_former_technician_is_taken_after_the_scope_exit_was_pruned(client):
    """Nothing done on site is lost: a job that left a technician's hands keeps taking what they did on it
    offline, however late it comes (sync_former_jobs is never pruned); a report edit raises a
    reassigned_while_worked conflict, and what they created on it (facts, adjustments) is kept and joins one
    such conflict, so the dispatcher learns of it. Someone who never held the job is refused."""
    from media.models import Photo
    from server.jobs.models import Adjustment, CheckIn, PartUsage
    from sync.models import SyncConflict, SyncScopeExit
    from tests.syncing import adjustment, check_in, op

    first, second, stranger = f.technician(), f.technician(), f.technician()
    job = f.job(tech=first)
    part = f.part()
    device = Handheld(client, first)
    device.pull()
    office = _office(client)
    assert client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(second.id)},
                       headers=office).status_code == 200
    assert changelog.prune(db.session, retention=timedelta(0), now=utcnow() + timedelta(seconds=1)) > 0
    db.session.commit()
    assert db.session.scalar(select(SyncScopeExit.position).where(SyncScopeExit.technician_id == first.id)) is None

    photo = op("photos", "6f1c0d3e-2a41-4c8e-9a57-3f1d2b4c5e6f", "create",
               {"job_id": str(job.id), "blob_sha256": "a" * 64})
    answer = device.push([
        op("jobs", job.id, "update", {"status": "completed", "work_done": "fixed weeks ago"}, base_version=1),
        part_usage(job.id, part.id), adjustment(job.id), check_in(job.id), photo,
    ])
    assert [r["status"] for r in answer["results"]] == ["merged"] * 5
    db.session.expire_all()
    row = db.session.get(Job, job.id)
    # The report waits in the conflict (a former holder's values never replace the holder's).
    assert row.work_done is None and row.technician_id == second.id
    conflict = db.session.get(SyncConflict, uuid.UUID(answer["results"][0]["conflict_id"]))
    assert conflict.kind == "reassigned_while_worked" and conflict.technician_id == first.id
    assert conflict.fields["work_done"]["device"] == "fixed weeks ago"
    # What they created on the job joins the same conflict: one per job and hand-over.
    assert {r["conflict_id"] for r in answer["results"]} == {str(conflict.id)}
    work = conflict
    listed = client.get("/api/v1/sync/conflicts", headers=office).get_json()["items"]
    assert {c["id"] for c in listed} == {str(conflict.id)}
    settled = client.post(f"/api/v1/sync/conflicts/{work.id}/resolve", json={"keep": "server"}, headers=office)
    assert settled.status_code == 200, settled.get_json()
    for model in (PartUsage, Adjustment, CheckIn, Photo):
        assert db.session.scalar(select(model.id).where(model.job_id == job.id)) is not None

    refused = Handheld(client, stranger, device_id="handheld-3").push([
        op("jobs", job.id, "update", {"work_done": "not mine"}, base_version=1), part_usage(job.id, part.id)])
    assert [r["error"]["code"] for r in refused["results"]] == ["not_found", "not_found"]
    # The former device's old cursor must resync; its fresh copy has no trace of the job.
    assert device.pull_page(device.cursor, expect=410)["error"]["code"] == "resync_required"
    device.cursor, device.copy = None, {}
    device.pull()
    assert ("jobs", str(job.id)) not in device.copy


def test_changes_made_on_expired_objects_still_know_the_old_values(client):
    """An edit to an object whose attributes were expired (after a commit) without reading them first: the
    old van and the old technician are still known (active history), so the exits still go out."""
    from server.technicians.models import Technician

    first, second = f.technician(), f.technician()
    job = f.job(tech=first)
    part = f.part()
    van = first.van_location_id
    _stock(van, [part])
    device = Handheld(client, first)
    device.pull()
    technician, row = db.session.get(Technician, first.id), db.session.get(Job, job.id)
    db.session.expire(technician)
    db.session.expire(row)
    technician.van_location_id = None
    row.technician_id = second.id
    db.session.commit()
    gone = {(c["table"], c["id"]) for c in device.pull() if c["deleted"]}
    assert {_level(van, part), ("jobs", str(job.id))} <= gone
    _matches_a_first_sync(device)


# ---- property: any interleaving of scope changes and pulls converges ----------------------------------------

scope_steps = st.one_of(
    st.tuples(st.just("van"), st.integers(0, 2)),
    st.tuples(st.just("ticket_place"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("job_ticket"), st.integers(0, 1), st.integers(0, 2)),
    st.tuples(st.just("unit"), st.integers(0, 1), st.integers(0, 2)),
    st.tuples(st.just("stock"), st.integers(0, 1)),
    st.tuples(st.just("reassign"), st.integers(0, 1)),
    st.tuples(st.just("pull"),),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(scope_steps, min_size=1, max_size=20))
@example(steps=[("van", 1), ("unit", 0, 1), ("pull",), ("van", 0), ("unit", 0, 0), ("van", 2)])
@example(steps=[("ticket_place", 0, 1), ("job_ticket", 1, 0), ("pull",), ("reassign", 0), ("ticket_place", 0, 3),
                ("reassign", 0)])
def test_any_interleaving_of_scope_changes_leaves_the_device_equal_to_a_first_sync(app, client, steps):
    from server.technicians.models import Technician

    db.session.rollback()
    empty_all_tables(app)
    tech, other = f.technician(), f.technician(with_van=False)
    vans = [tech.van_location_id, f.location(LocationKind.van).id, None]
    warehouse = f.location().id
    customers = [f.customer(), f.customer()]
    sites = [f.site(customers[0]), f.site(customers[0]), f.site(customers[1])]
    places = [(sites[0].id, f.asset(sites[0]).id), (sites[1].id, f.asset(sites[1]).id),
              (sites[2].id, f.asset(sites[2]).id), (sites[0].id, None)]
    tickets = [f.ticket(st=db.session.get(type(sites[0]), site_id)).id for site_id, _ in places[:3]]
    jobs = [f.job(tkt=db.session.get(Ticket, tickets[0]), tech=tech).id,
            f.job(tkt=db.session.get(Ticket, tickets[1]), tech=tech).id]
    parts = [f.part(), f.part()]
    for van in vans[:2]:
        _stock(van, parts)
    units = [f.spare_unit(db.session.get(StockLocation, vans[0])).id,
             f.spare_unit(db.session.get(StockLocation, vans[1])).id]
    device = Handheld(client, tech)
    device.pull()
    for step in steps:
        kind = step[0]
        if kind == "van":
            db.session.get(Technician, tech.id).van_location_id = vans[step[1]]
        elif kind == "ticket_place":
            ticket = db.session.get(Ticket, tickets[step[1]])
            site_id, asset_id = places[step[2]]
            ticket.site_id, ticket.asset_id = site_id, asset_id
            ticket.customer_id = db.session.get(type(sites[0]), site_id).customer_id
        elif kind == "job_ticket":
            db.session.get(Job, jobs[step[1]]).ticket_id = tickets[step[2]]
        elif kind == "unit":
            db.session.get(SpareUnit, units[step[1]]).location_id = [vans[0], vans[1], warehouse][step[2]]
        elif kind == "stock":
            record_movement(db.session, kind=MovementKind.issued_in, location_id=vans[step[1]],
                            part_id=parts[step[1]].id, quantity=1, at=utcnow())
        elif kind == "reassign":
            job = db.session.get(Job, jobs[step[1]])
            job.technician_id = other.id if job.technician_id == tech.id else tech.id
        else:
            device.pull()
        db.session.commit()
    device.pull()
    db.session.expire_all()
    assert device.copy == snapshot(db.session, tech.id)
    db.session.rollback()


# ---- set-wise: the statements a scope change costs do not grow with its size ---------------------------------

class _Statements:
    """Counts the statements sent to the database while active (not timing: a count of round trips)."""

    def __init__(self):
        self.count = 0

    def __enter__(self):
        from sqlalchemy import event

        event.listen(db.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc):
        from sqlalchemy import event

        event.remove(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):  # whether the session was already in a transaction is not the cost
            self.count += 1


def _bulk_reassign_cost(client, jobs: int) -> int:
    from server.jobs.models import Adjustment

    first, second = f.technician(), f.technician()
    ids = [f.job(tech=first).id for _ in range(jobs)]
    for job_id in ids:
        db.session.add(Adjustment(job_id=job_id, parameter="pressure"))
    db.session.commit()
    first_device, second_device = Handheld(client, first), Handheld(client, second, device_id="handheld-2")
    first_device.pull()
    second_device.pull()
    with _Statements() as statements:
        db.session.execute(update(Job).where(Job.technician_id == first.id).values(technician_id=second.id))
        db.session.commit()
    gone = {(c["table"], c["id"]) for c in first_device.pull() if c["deleted"]}
    assert {("jobs", str(i)) for i in ids} <= gone
    assert not any(table in ("jobs", "adjustments", "tickets") for table, _ in first_device.copy)
    second_device.pull()
    assert {("jobs", str(i)) for i in ids} <= set(second_device.copy)
    _matches_a_first_sync(first_device)
    _matches_a_first_sync(second_device)
    return statements.count


def _van_change_cost(client, parts: int) -> int:
    tech = f.technician()
    old_van, new_van = tech.van_location_id, f.location(LocationKind.van).id
    catalogue = [f.part() for _ in range(parts)]
    _stock(old_van, catalogue)
    _stock(new_van, catalogue)
    device = Handheld(client, tech)
    device.pull()
    office = _office(client)
    with _Statements() as statements:
        response = client.patch(f"/api/v1/technicians/{tech.id}", json={"van_location_id": str(new_van)},
                                headers=office)
        assert response.status_code == 200
    changes = device.pull()
    assert sum(c["deleted"] for c in changes) == parts and sum(not c["deleted"] for c in changes) == parts
    _matches_a_first_sync(device)
    return statements.count


def test_scope_changes_cost_the_same_statements_whatever_their_size(client):
    assert _bulk_reassign_cost(client, 2) == _bulk_reassign_cost(client, 12)
    # From 8 rows on PostgreSQL writes exits through COPY (not a cursor execute): compare sizes past it.
    assert _van_change_cost(client, 10) == _van_change_cost(client, 30)


def test_facts_a_former_technician_adds_after_the_hand_over_leave_their_device(client):
    """Orphaned facts: what the former technician records on a job after it left them (parts used,
    adjustments, photos) is kept with the job, and tombstoned (out_of_scope) on their device, which no
    longer holds the job; their check-ins are their own and stay. Both protocols."""
    from tests.syncing import adjustment, check_in, op

    first, second = f.technician(), f.technician()
    job = f.job(tech=first)
    part = f.part()
    device = Handheld(client, first)
    device.pull()
    office = _office(client)
    assert client.post(f"/api/v1/jobs/{job.id}/reassign", json={"technician_id": str(second.id)},
                       headers=office).status_code == 200
    device.pull()
    assert ("jobs", str(job.id)) not in device.copy
    usage, adjusted, photo, checked = part_usage(job.id, part.id), adjustment(job.id), op(
        "photos", uuid.uuid4(), "create", {"job_id": str(job.id), "blob_sha256": "b" * 64}), check_in(job.id)
    answer = device.push([usage, adjusted, photo, checked])
    assert [r["status"] for r in answer["results"]] == ["merged"] * 4
    changes = device.pull()
    gone = {(c["table"], c["id"]) for c in changes if c["deleted"] and c["reason"] == "out_of_scope"}
    assert gone == {("part_usages", usage["id"]), ("adjustments", adjusted["id"]), ("photos", photo["id"])}
    # The current holder has them with the job.
    holder = Handheld(client, second, device_id="handheld-2")
    holder.pull()
    assert {("part_usages", usage["id"]), ("adjustments", adjusted["id"])} <= set(holder.copy)
    # WatermelonDB: the same tombstones, in "deleted".
    headers = f.login_as(client, first, device_id="handheld-wmdb")
    start = client.get("/api/v1/sync/watermelon/pull", query_string={"last_pulled_at": "null"},
                       headers=headers).get_json()["timestamp"]
    later = str(uuid.uuid4())
    pushed = client.post("/api/v1/sync/watermelon/push", query_string={"last_pulled_at": start}, headers=headers,
                         json={"part_usages": {"created": [{"id": later, "job_id": str(job.id),
                                                            "part_id": str(part.id), "quantity": 1,
                                                            "_status": "created", "_changed": ""}],
                                               "updated": [], "deleted": []}})
    assert pushed.status_code == 200, pushed.get_data(as_text=True)
    pulled = client.get("/api/v1/sync/watermelon/pull", query_string={"last_pulled_at": start},
                        headers=headers).get_json()
    # (An adjustment's tombstone waits until the device has pushed again: sync/watermelon.py holds back
    # exits of what a device may still be editing.)
    assert later in pulled["changes"]["part_usages"]["deleted"]
