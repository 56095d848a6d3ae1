"""The spatial contract: one suite, run on SQLite (R*Tree) and PostgreSQL
(PostGIS), each checked against brute-force geodesic distance."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.db import utcnow
from server.dispatch import spatial
from server.dispatch.spatial import STOCK_LOCATIONS, TECHNICIANS, BruteForceIndex, index_for
from server.exceptions import InvalidInput
from server.extensions import db
from server.stock.models import LocationKind, StockLevel, StockLocation
from tests import factories as f


def add_locations(points, kind=LocationKind.service_station) -> list[StockLocation]:
    rows = [StockLocation(code=f"S{uuid.uuid4().hex[:12]}", name="spot", kind=kind, latitude=lat, longitude=lon)
            for lat, lon in points]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def ids(neighbours) -> list:
    return [n.id for n in neighbours]


def reference(rows, lat, lon, k):
    return spatial.brute_force_nearest([(r.id, r.latitude, r.longitude) for r in rows], lat, lon, k)


@pytest.fixture
def index(app):
    return index_for(db.session)


def test_the_index_matches_the_engine(app, backend, index):
    assert index.name == {"sqlite": "sqlite_rtree", "postgresql": "postgis"}[backend]


QUERIES = [
    (31.23, 121.47),  # Shanghai
    (0.0, 179.99), (0.0, -179.99), (65.0, 180.0), (-40.0, -180.0),  # antimeridian
    (89.95, 10.0), (-89.99, -120.0), (90.0, 0.0), (78.2, 15.6),  # high latitudes and poles
    (0.0, 0.0),
]


@pytest.mark.parametrize("lat, lon", QUERIES)
def test_nearest_agrees_with_brute_force_worldwide(app, index, lat, lon):
    rng = random.Random(5)
    points = [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(150)]
    # Dense spots where the edge cases live.
    points += [(rng.uniform(-1, 1), rng.choice([-1, 1]) * rng.uniform(179, 180)) for _ in range(40)]
    points += [(rng.choice([-1, 1]) * rng.uniform(85, 90), rng.uniform(-180, 180)) for _ in range(40)]
    points += [(31.23 + rng.gauss(0, 0.2), 121.47 + rng.gauss(0, 0.2)) for _ in range(40)]
    rows = add_locations(points)
    expected = reference(rows, lat, lon, 12)
    got = index.nearest(db.session, STOCK_LOCATIONS, lat, lon, 12)
    assert ids(got) == ids(expected)
    assert [n.distance_m for n in got] == pytest.approx([n.distance_m for n in expected], abs=1e-6)
    assert ids(BruteForceIndex().nearest(db.session, STOCK_LOCATIONS, lat, lon, 12)) == ids(expected)


def test_iteration_yields_every_point_once_in_order(app, index):
    rng = random.Random(9)
    rows = add_locations([(rng.uniform(20, 45), rng.uniform(75, 135)) for _ in range(120)])
    got = list(index.iter_nearest(db.session, STOCK_LOCATIONS, 30.0, 110.0, batch=4))
    assert ids(got) == ids(reference(rows, 30.0, 110.0, len(rows)))


@pytest.mark.parametrize("start_m, probes", [(500.0, 1), (10_000.0, 2), (10_000.0, 4), (2_000_000.0, 1)])
def test_clustered_points_any_first_ring(app, start_m, probes):
    # Rings are sized by counting (SQLite): an empty neighbourhood, a lone point, a dense
    # cluster further out and a sparse spread, whatever the first ring and however few
    # counts a ring may take, with and without a condition that only some points pass;
    # every point once, in order.
    index = index_for(db.session, start_radius_m=start_m)
    index.PROBES = probes  # SQLite's counts per ring (PostGIS does not count)
    rng = random.Random(23)
    points = [(30.5, 110.0)]  # the lone point, ~55 km north
    points += [(33.0 + rng.gauss(0, 0.05), 110.0 + rng.gauss(0, 0.05)) for _ in range(300)]  # ~330 km
    points += [(30.0 + rng.uniform(-6, 6), 110.0 + rng.uniform(-6, 6)) for _ in range(60)]
    points += [(rng.uniform(-80, 80), rng.uniform(-180, 180)) for _ in range(20)]
    vans = add_locations(points[::3], LocationKind.van)
    rows = vans + add_locations([p for i, p in enumerate(points) if i % 3])
    for k in (1, 25, 120):
        assert ids(index.nearest(db.session, STOCK_LOCATIONS, 30.0, 110.0, k)) == ids(reference(rows, 30.0, 110.0, k))
    others = [r for r in rows if r.kind != LocationKind.van]
    got = index.nearest(db.session, STOCK_LOCATIONS, 30.0, 110.0, 150, where=StockLocation.kind != LocationKind.van)
    assert ids(got) == ids(reference(others, 30.0, 110.0, 150))
    # From a single box to one split at the antimeridian or widened over a pole.
    for lat, lon in ((30.0, 110.0), (10.0, 179.5), (-88.0, 10.0)):
        got = list(index.iter_nearest(db.session, STOCK_LOCATIONS, lat, lon, batch=3))
        assert ids(got) == ids(reference(rows, lat, lon, len(rows)))


def test_across_the_antimeridian(app, index):
    east, west, far = add_locations([(0.0, 179.95), (0.0, -179.97), (0.0, 179.0)])
    got = index.nearest(db.session, STOCK_LOCATIONS, 0.0, -179.99, 3)
    assert ids(got) == [west.id, east.id, far.id]
    assert got[0].distance_km == pytest.approx(2.2, abs=0.1)


def test_over_the_pole(app, index):
    beyond, same_side = add_locations([(89.9, 180.0), (89.0, 0.0)])
    got = index.nearest(db.session, STOCK_LOCATIONS, 89.9, 0.0, 2)
    # 0.2 degrees over the pole beats 0.9 degrees down the same meridian.
    assert ids(got) == [beyond.id, same_side.id]
    assert got[0].distance_km == pytest.approx(22.3, abs=0.2)


def test_identical_positions_tie_by_id(app, index):
    rows = add_locations([(31.0, 121.0)] * 5)
    got = index.nearest(db.session, STOCK_LOCATIONS, 31.0, 121.0, 5)
    assert [n.distance_m for n in got] == [0.0] * 5
    assert ids(got) == sorted((r.id for r in rows), key=str)


def test_equal_distances_tie_by_id(app, index):
    rows = add_locations([(0.1, 0.0), (-0.1, 0.0), (0.1, 0.0), (0.0, 0.5)])
    got = index.nearest(db.session, STOCK_LOCATIONS, 0.0, 0.0, 3)
    assert got[0].distance_m == got[1].distance_m == got[2].distance_m
    assert ids(got) == sorted((r.id for r in rows[:3]), key=str)


def test_where_restricts_the_search(app, index):
    van, warehouse = add_locations([(31.0, 121.0)], LocationKind.van)[0], add_locations([(32.0, 121.0)])[0]
    got = index.nearest(db.session, STOCK_LOCATIONS, 31.0, 121.0, 5,
                        where=StockLocation.kind != LocationKind.van)
    assert ids(got) == [warehouse.id]
    assert van.id not in ids(got)


def test_where_with_a_subquery_of_its_own_over_the_layer(app, index):
    # SQLite checks a condition on the R*Tree's copy of the id; a subquery reading the
    # table itself keeps its own id.
    add_locations([(31.0, 121.0)], LocationKind.van)
    (warehouse,) = add_locations([(31.1, 121.0)])
    vans = sa.select(StockLocation.id).where(StockLocation.kind == LocationKind.van)
    got = index.nearest(db.session, STOCK_LOCATIONS, 31.0, 121.0, 5, where=StockLocation.id.not_in(vans))
    assert ids(got) == [warehouse.id]
    # A correlated one reads the point's id either way.
    held = sa.exists().where(StockLevel.location_id == StockLocation.id)
    put = StockLevel(location_id=warehouse.id, part_id=f.part().id, on_hand=1, reserved=0)
    db.session.add(put)
    db.session.commit()
    assert ids(index.nearest(db.session, STOCK_LOCATIONS, 31.0, 121.0, 5, where=held)) == [warehouse.id]


def test_technicians_are_found_where_they_last_were_else_at_home(app, index):
    home_only = f.technician(latitude=31.0, longitude=121.0, with_van=False)
    moved = f.technician(latitude=40.0, longitude=116.0, with_van=False)
    moved.last_latitude, moved.last_longitude, moved.last_position_at = 31.01, 121.0, utcnow()
    db.session.commit()
    got = index.nearest(db.session, TECHNICIANS, 31.0, 121.0, 2)
    assert ids(got) == [home_only.id, moved.id]
    assert got[1].distance_km == pytest.approx(1.1, abs=0.05)
    # Moving again and leaving the company both reach the index.
    moved.last_latitude, moved.last_longitude = 39.9, 116.4
    moved.last_position_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert ids(index.nearest(db.session, TECHNICIANS, 39.9, 116.4, 1)) == [moved.id]
    db.session.delete(moved)
    db.session.commit()
    assert ids(index.nearest(db.session, TECHNICIANS, 39.9, 116.4, 5)) == [home_only.id]


def test_an_empty_layer_and_a_short_one(app, index):
    assert index.nearest(db.session, STOCK_LOCATIONS, 0.0, 0.0, 3) == []
    (only,) = add_locations([(-33.9, 151.2)])
    assert ids(index.nearest(db.session, STOCK_LOCATIONS, 51.5, 0.0, 3)) == [only.id]


@pytest.mark.parametrize("lat, lon", [(91, 0), (0, 181), (float("nan"), 0), ("x", 1)])
def test_positions_off_the_globe_are_refused(app, index, lat, lon):
    with pytest.raises(InvalidInput):
        index.nearest(db.session, STOCK_LOCATIONS, lat, lon, 1)


def test_the_geodesic_is_geopys():
    from geopy.distance import geodesic

    rng = random.Random(3)
    for _ in range(200):
        a = (rng.uniform(-90, 90), rng.uniform(-180, 180))
        b = (rng.uniform(-90, 90), rng.uniform(-180, 180))
        assert spatial.geodesic_m(*a, *b) == pytest.approx(geodesic(a, b).meters, rel=1e-12, abs=1e-6)
    # The hard cases too: the same point, nearly antipodal points, a pole, across the antimeridian, short hops.
    for a, b in (((31.2, 121.4), (31.2, 121.4)), ((0.0, 0.0), (0.5, 179.7)), ((-30.0, 0.0), (29.9, 179.8)),
                 ((90.0, 0.0), (89.0, 45.0)), ((10.0, 179.99), (10.0, -179.99)), ((31.2, 121.4), (31.20001, 121.4))):
        assert spatial.geodesic_m(*a, *b) == pytest.approx(geodesic(a, b).meters, rel=1e-12, abs=1e-6)
    # Mirror images are exact ties, as they are for geopy: ties are then broken by id alike.
    assert spatial.geodesic_m(31.2, 121.4, 31.5, 121.9) == spatial.geodesic_m(31.2, 121.4, 31.5, 120.9)


def test_carried_columns_come_back_with_each_point(app, index):
    rng = random.Random(13)
    rows = add_locations([(rng.uniform(30, 32), rng.uniform(120, 122)) for _ in range(60)])
    columns = (StockLocation.code, StockLocation.latitude * 2)
    got = index.nearest(db.session, STOCK_LOCATIONS, 31.0, 121.0, 25, columns=columns)
    expected = BruteForceIndex().nearest(db.session, STOCK_LOCATIONS, 31.0, 121.0, 25, columns=columns)
    by_id = {r.id: r for r in rows}
    assert ids(got) == ids(expected)
    assert [n.extra for n in got] == [(by_id[n.id].code, pytest.approx(by_id[n.id].latitude * 2)) for n in got]


def test_several_searches_at_once_agree_with_each_alone(app, index):
    rng = random.Random(17)
    rows = add_locations([(rng.uniform(30, 32), rng.uniform(120, 122)) for _ in range(50)], LocationKind.van)
    rows += add_locations([(rng.uniform(30, 32), rng.uniform(120, 122)) for _ in range(50)])
    searches = [(None, 5), (StockLocation.kind != LocationKind.van, 12)]
    together = index.iter_nearest_many(db.session, STOCK_LOCATIONS, 31.0, 121.0, searches,
                                       columns=(StockLocation.code,))
    for (where, batch), iterator in zip(searches, together, strict=True):
        alone = list(index.iter_nearest(db.session, STOCK_LOCATIONS, 31.0, 121.0, where=where, batch=batch,
                                        columns=(StockLocation.code,)))
        got = list(iterator)
        assert ids(got) == ids(alone) and [n.extra for n in got] == [n.extra for n in alone]
        assert len(got) == (100 if where is None else 50)


def test_technicians_are_walked_by_the_position_they_are_ranked_from(app, index):
    """A stale fix far away gives way to a near home base in the walk itself (not only once met): the order is
    brute force over every technician's ranked position (server.dispatch.ranking.position_of), on both engines,
    and the candidates of a ticket are brute force's too, however small the pool."""
    from server.dispatch import ranking
    from server.dispatch.settings import DispatchSettings

    now = utcnow()
    settings = DispatchSettings(pool_size=3, limit=3, excluded_limit=2)
    rng = random.Random(29)
    site = (31.23, 121.47)
    techs = []
    for i in range(60):
        home = (site[0] + rng.uniform(-0.8, 0.8), site[1] + rng.uniform(-0.8, 0.8))
        tech = f.technician(latitude=home[0], longitude=home[1], with_van=False, name=f"t{i}")
        kind = i % 4
        if kind:  # a fix: fresh (1), stale (2) or stale by a minute past the limit (3), hundreds of km off
            fix = (home[0] + rng.choice([-1, 1]) * rng.uniform(0.5, 6), home[1] + rng.uniform(-6, 6))
            tech.last_latitude, tech.last_longitude = fix
            tech.last_position_at = now - {1: timedelta(minutes=5), 2: timedelta(hours=5),
                                           3: settings.stale_after + timedelta(minutes=1)}[kind]
        techs.append(tech)
    # Exactly the case: home 300 m from the site, last fix 900 km away three hours ago.
    near_home = f.technician(latitude=site[0] + 0.0027, longitude=site[1], with_van=False, name="near home")
    near_home.last_latitude, near_home.last_longitude = 39.9, 116.4
    near_home.last_position_at = now - timedelta(hours=3)
    techs.append(near_home)
    db.session.commit()

    def ranked_position(t):
        p = ranking.position_of(t, now=now, settings=settings)
        return t.id, p.latitude, p.longitude

    expected = spatial.brute_force_nearest([ranked_position(t) for t in techs], *site, len(techs))
    params = {spatial.FRESH_SINCE: now - settings.stale_after}
    for engine in (index, BruteForceIndex()):
        got = list(engine.iter_nearest(db.session, TECHNICIANS, *site, batch=4, params=params))
        assert ids(got) == ids(expected), engine.name
        assert [n.distance_m for n in got] == pytest.approx([n.distance_m for n in expected], abs=1e-6)
    assert got[0].id == near_home.id and got[0].distance_km == pytest.approx(0.3, abs=0.01)

    # The candidates: the near home base is first, measured from home, whatever engine walks.
    ticket = f.ticket(ast=f.asset(f.site(latitude=site[0], longitude=site[1])))
    context = ranking.ticket_context(db.session, ticket.id, now=now)
    reports = [ranking.find_candidates(db.session, context, settings=settings, now=now, index=engine)
               for engine in (index, BruteForceIndex())]
    for report in reports:
        assert report.candidates[0].technician_id == near_home.id
        assert report.candidates[0].position.source == "home_base"
        assert report.candidates[0].distance_km == pytest.approx(0.3, abs=0.01)
    assert [c.technician_id for c in reports[0].candidates] == [c.technician_id for c in reports[1].candidates]
    assert [c.technician_id for c in reports[0].candidates] == ids(expected)[:3]
