"""Nearest-neighbour search by true geodesic distance, behind one interface.

Two implementations, chosen by the database engine (:func:`index_for`):

* :class:`SQLiteRTreeIndex` — an R*Tree virtual table kept by triggers
  (created by migration ``0004``). Rings of growing radius: each ring is a
  bounding box that provably holds every point within that geodesic radius.
* :class:`PostGISIndex` — KNN (``<->``) over a GiST index on a geography
  expression (migration ``0004``), which walks points in order of distance on
  the sphere.

Both only *prefilter*. The order that comes out is always the exact geodesic
distance on the WGS-84 ellipsoid (Karney's algorithm, as geopy computes it),
ties broken by id, so the two engines and :class:`BruteForceIndex` (the
reference, used by the tests and benchmarks) give identical answers. Correctness rests on one bound: for any two points,
the geodesic distance is at least ``SPHERE_TO_GEODESIC_LOWER`` times their
great-circle distance on the mean sphere (the smallest radius of curvature of
WGS-84 over the mean radius is 0.99442). A candidate is handed out only when no
point not yet seen can be nearer, so no planar or spherical approximation can
reorder or miss a neighbour — at the antimeridian, near the poles or anywhere.

Implementations take a SQLAlchemy ``Session`` and never commit; they never read
Flask's ``current_app``.
"""

from __future__ import annotations

import functools
import heapq
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from geographiclib.geodesic import Geodesic
from pyproj import Geod
from sqlalchemy.orm import Session

from server.bulk import in_param
from server.exceptions import InvalidInput
from server.stock.models import StockLocation
from server.technicians.models import Technician

EARTH_MEAN_RADIUS_M = 6_371_008.8
# Geodesic distance (WGS-84) >= this × great-circle distance on the mean sphere.
# The true worst case is 0.99442 (meridians at the equator); the margin covers
# the sphere radius PostGIS uses and rounding.
SPHERE_TO_GEODESIC_LOWER = 0.994
HALF_CIRCUMFERENCE_M = math.pi * EARTH_MEAN_RADIUS_M


@dataclass(frozen=True, order=True)
class Neighbour:
    """One point found, with its exact geodesic distance from the query point.

    ``extra`` holds the values of the ``columns`` the search was asked to carry."""

    distance_m: float
    id: uuid.UUID
    latitude: float
    longitude: float
    extra: tuple = field(default=(), compare=False)

    @property
    def distance_km(self) -> float:
        return self.distance_m / 1000.0


@dataclass(frozen=True)
class Layer:
    """A table of points: its model, id column and position expressions.

    ``rtree`` and ``keys`` name the SQLite R*Tree and its key table;
    ``gist_expression`` is the PostgreSQL geography expression the GiST index
    is built on (the query must spell it identically for the planner to use it).

    A point's *position* (what the search orders by and hands out) is
    ``latitude_sql``/``longitude_sql`` unless ``position`` gives SQL expressions
    of its own, which may read bound parameters (``defaults`` gives them values
    when the caller does not). Such a position may be any of several places of a
    row: the index then holds all of them (``gist_sql``: a geography covering
    them; the R*Tree: the box around them), so the index's distance to a row is
    a lower bound of its position's, which is all the searches need.
    """

    name: str
    model: type
    rtree: str
    keys: str
    key_column: str
    latitude_sql: str
    longitude_sql: str
    gist_sql: str | None = None
    position: object = None  # a function returning (latitude, longitude) SQL expressions, built once
    defaults: tuple = ()  # ((parameter, value), ...)

    @property
    def table(self) -> str:
        return self.model.__tablename__

    def gist_expression(self) -> str:
        return self.gist_sql or (f"(st_setsrid(st_makepoint({self.longitude_sql}, {self.latitude_sql}), 4326)"
                                 "::geography)")

    def position_columns(self) -> tuple:
        if self.position is not None:
            return self.position()
        return sa.literal_column(self.latitude_sql), sa.literal_column(self.longitude_sql)

    def with_defaults(self, params) -> dict:
        return {**dict(self.defaults), **(params or {})}


def _position(table: str, coordinate: str, fallback: str) -> str:
    # The last known position when the device reported both coordinates, else
    # the home base: a technician always has a position to search by.
    return (f"CASE WHEN {table}.last_latitude IS NOT NULL AND {table}.last_longitude IS NOT NULL "
            f"THEN {table}.last_{coordinate} ELSE {table}.{fallback} END")


# A technician is ranked from their last fix while it is fresh, from their home
# base once it is stale (server/dispatch/ranking.py: position_of): the search
# orders by that same position. Which one it is depends on the time of the
# query (bound as ``spatial_fresh_since``: fixes at or after it are fresh), so
# the index holds both places: the GiST index a geography of the two points
# (its distance, the nearer of the two, never exceeds the position's), the
# R*Tree the box around them (migration 0024).
FRESH_SINCE = "spatial_fresh_since"
# Without a moment given, every fix with a time counts as fresh: the last fix, else the home base.
_ANY_FIX = datetime(1970, 1, 1, tzinfo=UTC)


@functools.cache
def _technician_position() -> tuple:
    table = Technician.__table__
    fresh = sa.and_(table.c.last_latitude.is_not(None), table.c.last_longitude.is_not(None),
                    table.c.last_position_at >= sa.bindparam(FRESH_SINCE, type_=table.c.last_position_at.type))
    return (sa.case((fresh, table.c.last_latitude), else_=table.c.home_latitude),
            sa.case((fresh, table.c.last_longitude), else_=table.c.home_longitude))


def _technician_places_gist() -> str:
    last_or_home = (f"st_makepoint({_position('technicians', 'longitude', 'home_longitude')}, "
                    f"{_position('technicians', 'latitude', 'home_latitude')})")
    return (f"(st_setsrid(st_collect({last_or_home}, st_makepoint(technicians.home_longitude, "
            "technicians.home_latitude)), 4326)::geography)")


TECHNICIANS = Layer(
    name="technicians", model=Technician, rtree="rtree_technicians", keys="rtree_technician_keys",
    key_column="technician_id",
    latitude_sql=_position("technicians", "latitude", "home_latitude"),
    longitude_sql=_position("technicians", "longitude", "home_longitude"),
    gist_sql=_technician_places_gist(), position=_technician_position, defaults=((FRESH_SINCE, _ANY_FIX),),
)
STOCK_LOCATIONS = Layer(
    name="stock_locations", model=StockLocation, rtree="rtree_stock_locations",
    keys="rtree_stock_location_keys", key_column="location_id",
    latitude_sql="stock_locations.latitude", longitude_sql="stock_locations.longitude",
)
LAYERS = {layer.name: layer for layer in (TECHNICIANS, STOCK_LOCATIONS)}


# Karney's algorithm compiled: PROJ's geodesic.c (by Karney, the C twin of the
# geographiclib that geopy runs in pure Python), on the same WGS-84 ellipsoid.
_GEOD = Geod(a=Geodesic.WGS84.a, f=Geodesic.WGS84.f)
_INVERSE = _GEOD.inv


def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Exact distance on the WGS-84 ellipsoid, in metres.

    The same computation as ``geopy.distance.geodesic(...).meters`` (geopy
    delegates to geographiclib's pure-Python Karney algorithm), run by its
    compiled twin in PROJ (pyproj): about 1 µs a pair against 30 µs. The two
    agree to a few nanometres (the last bits of a double; the tests hold them
    equal), far below any distance that could reorder two technicians."""
    return _INVERSE(lon1, lat1, lon2, lat2)[2]


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on the mean sphere: cheap, used only to order work."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def check_point(latitude, longitude) -> tuple[float, float]:
    """A valid (lat, lon) in degrees, or InvalidInput."""
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise InvalidInput("a position needs a numeric latitude and longitude", code="invalid_position") from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or math.isnan(lat) or math.isnan(lon):
        raise InvalidInput("latitude must be within [-90, 90] and longitude within [-180, 180]",
                           code="invalid_position", details={"latitude": lat, "longitude": lon})
    return lat, lon


# A scan step: points not handed out before (id, lat, lon, *extra columns), and a
# geodesic distance that every point not yet handed out exceeds (math.inf once
# the scan is exhausted).
Row = tuple
ScanStep = tuple[list[Row], float]


class SpatialIndex(ABC):
    """Nearest points of a layer by exact geodesic distance.

    Contract (one suite, ``tests/test_dispatch_spatial.py``, checks every
    implementation against :class:`BruteForceIndex`):

    * :meth:`iter_nearest` yields every point of the layer that satisfies
      ``where`` exactly once, in increasing geodesic distance, ties broken by id
      (string order); it fetches lazily, so stopping early is cheap.
    * ``where`` is an optional SQLAlchemy condition on the layer's model.
    * ``columns`` are optional SQL expressions on the layer's table (correlated
      subqueries welcome) whose values come back in ``Neighbour.extra``: what
      the caller needs about each point arrives in the same round trip.
    * Raises :class:`InvalidInput` for a position off the globe.
    """

    name = "abstract"
    # Whether ``_scan`` selects the extra columns itself (its rows are few) or
    # they are fetched afterwards for the rows handed out only.
    inline_columns = True

    def iter_nearest(self, session: Session, layer: Layer, latitude: float, longitude: float, *,
                     where=None, batch: int = 16, columns=(), params=None) -> Iterator[Neighbour]:
        lat, lon = check_point(latitude, longitude)
        columns = tuple(columns)
        # Engines whose prefilter returns many more rows than are handed out
        # fetch the extra columns afterwards, for the rows handed out only.
        hydrate = bool(columns) and not self.inline_columns
        params = layer.with_defaults(params)
        scan = self._scan(session, layer, lat, lon, where, batch, () if hydrate else columns, params)
        return self._iterate(session, layer, lat, lon, scan, batch, columns if hydrate else (), params)

    def iter_nearest_many(self, session: Session, layer: Layer, latitude: float, longitude: float,
                          searches: list[tuple], *, columns=(), params=None) -> list[Iterator[Neighbour]]:
        """Several searches around one point, ``searches`` being ``(where, batch)``
        pairs: one iterator each, as :meth:`iter_nearest` gives. An engine that
        can answer the first step of all of them in one round trip does."""
        return [self.iter_nearest(session, layer, latitude, longitude, where=where, batch=batch, columns=columns,
                                  params=params)
                for where, batch in searches]

    def _iterate(self, session: Session, layer: Layer, lat: float, lon: float, scan: Iterator[ScanStep],
                 batch: int, hydrate_columns: tuple, params: dict, known: dict | None = None) -> Iterator[Neighbour]:
        """``known``: the hydrated columns by id, shared by searches that carry the
        same columns with the same parameters: a point already hydrated by one is
        not fetched again for another."""
        hydrate = bool(hydrate_columns)
        known = {} if known is None else known
        # Two heaps: points whose geodesic distance is known, keyed by it, and
        # points only known by their cheap lower bound.
        exact: list[tuple[float, str, Neighbour]] = []
        rough: list[tuple[float, str, Row]] = []
        ready: list[Neighbour] = []
        # Columns are fetched for ``batch`` points first; a caller that wants
        # more usually wants only a few more: smaller fetches after that.
        chunk = max(batch, 1)
        bound = 0.0
        exhausted = False
        while True:
            # Refine every point that could still come before the best exact one.
            while rough and (not exact or rough[0][0] <= exact[0][0]):
                _, key, (pid, plat, plon, *extra) = heapq.heappop(rough)
                distance = geodesic_m(lat, lon, plat, plon)
                heapq.heappush(exact, (distance, key, Neighbour(distance, pid, plat, plon, tuple(extra))))
            if exact and (exact[0][0] < bound or exhausted):
                neighbour = heapq.heappop(exact)[2]
                if not hydrate:
                    yield neighbour
                    continue
                if not ready and neighbour.id in known:
                    yield _with_extra(neighbour, known[neighbour.id])
                    continue
                ready.append(neighbour)
                if len(ready) < chunk:
                    continue
            if ready:
                yield from self._hydrate(session, layer, ready, hydrate_columns, params, known)
                ready = []
                chunk = max(batch // 4, 1)
                continue
            if exhausted:
                return
            try:
                rows, bound = next(scan)
            except StopIteration:
                exhausted, bound = True, math.inf
                continue
            for row in rows:
                lower = great_circle_m(lat, lon, row[1], row[2]) * SPHERE_TO_GEODESIC_LOWER
                heapq.heappush(rough, (lower, str(row[0]), row))

    def _hydrate(self, session: Session, layer: Layer, neighbours: list[Neighbour], columns: tuple, params: dict,
                 known: dict):
        """The same neighbours, in the same order, with ``columns`` fetched by id in
        one query (those not in ``known``, which gains them)."""
        wanted = [n.id for n in neighbours if n.id not in known]
        if wanted:
            dialect = session.get_bind().dialect
            ids = layer.model.__table__.c.id
            stmt = _cached(("hydrate", layer.name, dialect.name), (columns,),
                           # ONE bound parameter whatever the number of ids (server.bulk): the
                           # statement is not re-rendered, nor prepared again, for each length.
                           lambda: sa.select(ids, *columns).where(in_param(ids, "spatial_ids", dialect)))
            known.update((_as_uuid(i), tuple(rest))
                         for i, *rest in _execute(session, stmt, {**params, "spatial_ids": wanted}))
        for n in neighbours:
            yield _with_extra(n, known[n.id])

    def nearest(self, session: Session, layer: Layer, latitude: float, longitude: float, k: int, *,
                where=None, columns=(), params=None) -> list[Neighbour]:
        """The ``k`` nearest points (fewer if the layer holds fewer)."""
        if k <= 0:
            return []
        found = []
        for neighbour in self.iter_nearest(session, layer, latitude, longitude, where=where, batch=k,
                                           columns=columns, params=params):
            found.append(neighbour)
            if len(found) == k:
                break
        return found

    @abstractmethod
    def _scan(self, session: Session, layer: Layer, lat: float, lon: float, where, batch: int,
              columns: tuple, params: dict) -> Iterator[ScanStep]:
        """Yield candidate points in growing steps, each with its lower bound."""


# Statements by the identity of what they are built from: a caller that reuses
# its conditions and columns (bound parameters for the values) reuses the
# statement, and SQLAlchemy its memoised cache key instead of walking the whole
# statement again on every execution. Bounded.
_STATEMENTS: dict = {}


def _cached(name: tuple, parts: tuple, build):
    key = (name, tuple(id(p) for p in parts))
    cached = _STATEMENTS.get(key)
    if cached is not None and all(a is b for a, b in zip(cached[1], parts, strict=True)):
        return cached[0]
    statement = build()
    if len(_STATEMENTS) >= 256:
        _STATEMENTS.clear()
    _STATEMENTS[key] = (statement, parts)  # the parts are kept alive, so their ids stay theirs
    return statement


def _execute(session: Session, statement, params: dict):
    """Plain Core rows on the session's connection: none of the ORM's result
    machinery per row (it was a third of a SQLite search). Pending changes are
    flushed first, as the ORM's autoflush would."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def _with_extra(n: Neighbour, extra: tuple) -> Neighbour:
    return Neighbour(n.distance_m, n.id, n.latitude, n.longitude, extra)


def _as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


class BruteForceIndex(SpatialIndex):
    """Every point of the layer, measured one by one: the reference answer."""

    name = "brute_force"
    inline_columns = False

    def _scan(self, session, layer, lat, lon, where, batch, columns, params):
        stmt = sa.select(layer.model.id, *layer.position_columns(), *columns)
        if where is not None:
            stmt = stmt.where(where)
        rows = [(_as_uuid(i), float(a), float(b), *extra) for i, a, b, *extra in session.execute(stmt, params)]
        yield rows, math.inf


class SQLiteRTreeIndex(SpatialIndex):
    """R*Tree rings: bounding boxes of growing radius, then exact ranking.

    Each ring's radius is chosen by counting first: counting the points in a box
    costs the R*Tree next to nothing (no row is read), while fetching them costs
    a join and the caller's conditions per point. So a ring is sized to hold
    about as many points as are still wanted (at the density and the share of
    points passing ``where`` seen so far), then fetched; a ring skips the points
    of the ring before it, which were fetched already. ``start_radius_m`` is the
    first ring tried, shrunk where the R*Tree counts many more points than
    wanted and widened where it counts too few.
    """

    name = "sqlite_rtree"
    inline_columns = False  # a ring holds more rows than are handed out: fetch columns after

    # A ring aims at this many points per point wanted: its box's corners lie
    # outside the circle (4/pi) and densities are uneven.
    RING_SLACK = 1.6
    # Each ring's radius at least this many times the last one (progress) and at most this many times.
    MIN_GROWTH, MAX_GROWTH = 1.25, 8.0
    # Counts per ring, at most: enough to land within a factor two of the aim.
    PROBES = 4

    def __init__(self, start_radius_m: float = 10_000.0):
        self.start_radius_m = start_radius_m

    @staticmethod
    def _rtree(layer):
        return sa.table(layer.rtree, sa.column("key"), sa.column("min_lat"), sa.column("max_lat"),
                        sa.column("min_lon"), sa.column("max_lon"), sa.column(layer.key_column),
                        sa.column("lat"), sa.column("lon"))

    @staticmethod
    def _in_box(rtree):
        # The ring's box is bound at execution: one statement for every ring.
        return sa.and_(rtree.c.max_lat >= sa.bindparam("ring_lat_min"),
                       rtree.c.min_lat <= sa.bindparam("ring_lat_max"),
                       rtree.c.max_lon >= sa.bindparam("ring_lon_min"),
                       rtree.c.min_lon <= sa.bindparam("ring_lon_max"))

    @classmethod
    def _ring_statement(cls, layer, where, columns):
        rtree = cls._rtree(layer)
        # A layer whose position is one of several places of a row (its box holds them all) reads
        # the position from the row; a plain point is the R*Tree's own copy.
        position = layer.position_columns() if layer.position is not None else (rtree.c.lat, rtree.c.lon)
        stmt = sa.select(rtree.c[layer.key_column], *position, *columns)
        if where is not None or columns or layer.position is not None:
            stmt = stmt.select_from(rtree.join(layer.model.__table__,
                                               layer.model.__table__.c.id == rtree.c[layer.key_column]))
        if where is not None:
            stmt = stmt.where(_on_copy_of_id(where, layer.model.__table__, rtree.c[layer.key_column]))
        # Not the points wholly inside the last ring's box: they were fetched with it. (The R*Tree
        # checks this on its own coordinates, before any join: an inner point costs no lookup.)
        inner = sa.and_(rtree.c.min_lat >= sa.bindparam("inner_lat_min"),
                        rtree.c.max_lat <= sa.bindparam("inner_lat_max"),
                        rtree.c.min_lon >= sa.bindparam("inner_lon_min"),
                        rtree.c.max_lon <= sa.bindparam("inner_lon_max"))
        return stmt.where(cls._in_box(rtree), sa.not_(inner))

    @classmethod
    def _count_statement(cls, layer):
        rtree = cls._rtree(layer)
        return sa.select(sa.func.count()).select_from(rtree).where(cls._in_box(rtree))

    def _count(self, session, statement, lat, lon, radius, counts: dict) -> tuple[int, list]:
        boxes = list(_boxes(lat, lon, radius))
        if radius not in counts:
            counts[radius] = sum(_execute(session, statement, {
                "ring_lat_min": lat_min, "ring_lat_max": lat_max, "ring_lon_min": lon_min,
                "ring_lon_max": lon_max}).scalar_one() for (lat_min, lat_max, lon_min, lon_max), _ in boxes)
        return counts[radius], boxes

    def _next_ring(self, session, statement, lat, lon, last_radius, last_count, found, wanted, counts):
        """The next ring: its radius, its boxes and how many points (of any kind) they hold."""
        if last_radius == 0.0:
            # No share known yet: aim as if every point passed.
            radius, low, high = self.start_radius_m, self.start_radius_m / 64, math.inf
            aim = wanted * self.RING_SLACK
        else:
            # Points wanted by now at the share passing so far (at least one, while none has).
            aim = (found + wanted) * max(last_count, 1) / max(found, 1) * self.RING_SLACK
            low, high = last_radius * self.MIN_GROWTH, last_radius * self.MAX_GROWTH
            radius = last_radius * math.sqrt(aim / max(last_count, 1))
        radius = min(max(radius, low), high)
        probes = []
        for _ in range(self.PROBES):
            count, boxes = self._count(session, statement, lat, lon, radius, counts)
            probes.append((radius, boxes, count))
            if boxes[0][1] or aim / 2 <= count <= aim * 2:
                return radius, boxes, count
            if count < aim / 2:
                low = radius
            else:
                high = radius
            # The area the aim needs at the density just counted; halfway (geometrically) when
            # that leaves the bracket, as points cluster.
            guess = radius * math.sqrt(aim / max(count, 1))
            if not low < guess < high:
                guess = math.sqrt(low * high) if math.isfinite(high) else high
            if not low < guess < high:
                break
            radius = guess
        # Out of counts: the widest ring not far above the aim (a ring too small costs one more
        # ring; one too large costs a lookup for every point too many), else the smallest.
        fitting = [p for p in probes if p[2] <= aim * 2]
        return max(fitting, key=lambda p: p[0]) if fitting else min(probes, key=lambda p: p[0])

    def iter_nearest_many(self, session, layer, latitude, longitude, searches, *, columns=(), params=None):
        """As :meth:`iter_nearest` one by one, the searches sharing their counts (the same
        rings around the same point are counted once) and the columns they fetched (a
        point met by two searches is hydrated once)."""
        lat, lon = check_point(latitude, longitude)
        columns, params, counts, known = tuple(columns), layer.with_defaults(params), {}, {}
        return [self._iterate(session, layer, lat, lon,
                              self._scan(session, layer, lat, lon, where, batch, (), params, counts=counts),
                              batch, columns, params, known)
                for where, batch in searches]

    def _scan(self, session, layer, lat, lon, where, batch, columns, params, counts=None):
        stmt = _cached(("ring", layer.name), (where, columns), lambda: self._ring_statement(layer, where, columns))
        count_stmt = _cached(("ring_count", layer.name), (), lambda: self._count_statement(layer))
        counts = {} if counts is None else counts  # points per radius around this point
        seen: set[str] = set()
        radius, count = 0.0, 0
        inner = _NO_INNER_BOX
        while True:
            radius, boxes, count = self._next_ring(session, count_stmt, lat, lon, radius, count, len(seen),
                                                   max(batch, 1), counts)
            fresh: list[Row] = []
            whole_earth = boxes[0][1]
            for (lat_min, lat_max, lon_min, lon_max), _ in boxes:
                box = {"ring_lat_min": lat_min, "ring_lat_max": lat_max, "ring_lon_min": lon_min,
                       "ring_lon_max": lon_max, **inner}
                for key, plat, plon, *extra in _execute(session, stmt, {**params, **box}):
                    if key not in seen:
                        seen.add(key)
                        fresh.append((_as_uuid(key), plat, plon, *extra))
            if whole_earth:
                yield fresh, math.inf
                return
            yield fresh, radius
            # A ring of one box is skipped by the next (boxes grow with the radius, so the next holds it).
            if len(boxes) == 1:
                (lat_min, lat_max, lon_min, lon_max), _ = boxes[0]
                inner = {"inner_lat_min": lat_min, "inner_lat_max": lat_max, "inner_lon_min": lon_min,
                         "inner_lon_max": lon_max}
            else:
                inner = _NO_INNER_BOX


def _on_copy_of_id(where, table, copy):
    """``where`` reading the R*Tree's copy of the id instead of the table's (equal by
    the join): SQLite then checks what depends on the id alone (a certification or
    stock held, correlated on the id) before the join, and a point failing it costs
    no lookup of its row. ``where`` as it is when a subquery in it reads the table
    on its own (there the id is that subquery's, not the point's)."""
    for element in sa.sql.visitors.iterate(where):
        if isinstance(element, sa.Select) and (
                any(getattr(c, "table", None) is table for c in element.selected_columns)
                or any(f is table for f in element._from_obj)):
            return where

    def replace(element):  # the id column itself, or the ORM's annotated copy of it
        if isinstance(element, sa.Column) and element.table is table and element.key == "id":
            return copy
        return None

    return sa.sql.visitors.replacement_traverse(where, {}, replace)


# An empty box: no point lies wholly inside it.
_NO_INNER_BOX = {"inner_lat_min": 1.0, "inner_lat_max": -1.0, "inner_lon_min": 1.0, "inner_lon_max": -1.0}


def _boxes(lat: float, lon: float, radius_m: float):
    """Latitude/longitude boxes that together hold every point within ``radius_m``
    geodesic metres, split at the antimeridian and widened to all longitudes
    over a pole. Yields ``((lat_min, lat_max, lon_min, lon_max), whole_earth)``."""
    angle = radius_m / (EARTH_MEAN_RADIUS_M * SPHERE_TO_GEODESIC_LOWER)  # radians on the sphere
    if angle >= math.pi:
        yield (-90.0, 90.0, -180.0, 180.0), True
        return
    dlat = math.degrees(angle)
    lat_min, lat_max = lat - dlat, lat + dlat
    if lat_max >= 90.0 or lat_min <= -90.0:
        yield (max(lat_min, -90.0), min(lat_max, 90.0), -180.0, 180.0), False
        return
    ratio = math.sin(angle) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        yield (lat_min, lat_max, -180.0, 180.0), False
        return
    dlon = math.degrees(math.asin(ratio)) * 1.000001 + 1e-9  # a hair wider than the cap
    lon_min, lon_max = lon - dlon, lon + dlon
    if lon_min < -180.0:
        yield (lat_min, lat_max, lon_min + 360.0, 180.0), False
        yield (lat_min, lat_max, -180.0, lon_max), False
    elif lon_max > 180.0:
        yield (lat_min, lat_max, lon_min, 180.0), False
        yield (lat_min, lat_max, -180.0, lon_max - 360.0), False
    else:
        yield (lat_min, lat_max, lon_min, lon_max), False


class PostGISIndex(SpatialIndex):
    """KNN over the GiST index on a geography expression, then exact ranking.

    ``<->`` on geography is the distance on the sphere; the points come in that
    order, so after a fetch every unseen point lies at least as far on the sphere
    as the last one fetched. Each step re-runs the KNN with a larger LIMIT (a few
    index pages; no OFFSET, so ties at a page boundary can never be skipped).
    """

    name = "postgis"

    def _statement(self, layer, where, columns):
        point = sa.text("st_setsrid(st_makepoint(:qlon, :qlat), 4326)::geography")
        sphere = sa.literal_column(layer.gist_expression()).op("<->")(point).label("sphere_m")
        latitude, longitude = layer.position_columns()
        stmt = sa.select(layer.model.id, latitude.label("position_lat"), longitude.label("position_lon"), sphere,
                         *columns)
        if where is not None:
            stmt = stmt.where(where)
        return stmt.order_by(sa.literal_column("sphere_m"))

    @staticmethod
    def _first_limit(batch: int) -> int:
        # A margin past ``batch``: the last rows must lie far enough on the sphere
        # to prove the first ``batch`` by geodesic distance.
        return batch + max(8, batch // 2)

    def _scan(self, session, layer, lat, lon, where, batch, columns, params, first_rows=None):
        stmt = None  # built only when a step needs a round trip of its own
        seen: set[uuid.UUID] = set()
        limit = self._first_limit(batch)
        while True:
            if first_rows is not None:
                rows, first_rows = first_rows, None
            else:
                if stmt is None:
                    stmt = self._statement(layer, where, columns)
                rows = _execute(session, stmt.limit(limit), {**params, "qlon": lon, "qlat": lat}).all()
            fresh = [(r[0], float(r[1]), float(r[2]), *r[4:]) for r in rows if r[0] not in seen]
            seen.update(r[0] for r in fresh)
            if len(rows) < limit:
                yield fresh, math.inf
                return
            yield fresh, max(float(r[3]) for r in rows) * SPHERE_TO_GEODESIC_LOWER
            limit *= 2

    # Union statements by the identity of what they are built from: a caller that
    # reuses its conditions and columns (bound parameters for the values) reuses
    # the statement, and SQLAlchemy its memoised cache key. Bounded.
    _unions: dict = {}

    def _union(self, layer, searches, columns):
        key = (layer.name, tuple((id(where), batch) for where, batch in searches), id(columns))
        cached = self._unions.get(key)
        if cached is not None and cached[1] is columns and all(
                w is where for w, (where, _) in zip(cached[2], searches, strict=True)):
            return cached[0]
        # Constants written into the SQL, not bound: with its LIMIT known the
        # planner can keep one generic plan of the prepared statement for every
        # query (a bound LIMIT made it re-plan each execution).
        point = sa.text("st_setsrid(st_makepoint(:qlon, :qlat), 4326)::geography")
        table = layer.model.__table__
        parts = [sa.select(table.c.id, sa.literal_column(layer.gist_expression()).op("<->")(point).label("sphere_m"),
                           sa.literal_column(str(1 << i)).label("searches"))
                 .where(*(() if where is None else (where,))).order_by(sa.literal_column("sphere_m"))
                 .limit(sa.literal_column(str(int(self._first_limit(batch))))).subquery()
                 for i, (where, batch) in enumerate(searches)]
        found = sa.union_all(*(sa.select(part) for part in parts)).subquery("found")
        # A point found by several searches once, with the searches that found it
        # (one bit each): its columns are computed once, and the statement stays
        # under 4 kB (psycopg re-parses every statement longer than that).
        points = (sa.select(found.c.id, sa.func.min(found.c.sphere_m).label("sphere_m"),
                            sa.func.bit_or(found.c.searches).label("searches"))
                  .group_by(found.c.id).subquery("points"))
        union = (sa.select(points.c.id, *layer.position_columns(),
                           points.c.sphere_m, *columns, points.c.searches)
                 .select_from(points.join(table, table.c.id == points.c.id)))
        if len(self._unions) >= 64:
            self._unions.clear()
        self._unions[key] = (union, columns, tuple(where for where, _ in searches))
        return union

    def iter_nearest_many(self, session, layer, latitude, longitude, searches, *, columns=(), params=None):
        """The first step of every search in one statement (UNION ALL of the KNN
        queries), each point's columns computed once however many searches found it."""
        lat, lon = check_point(latitude, longitude)
        columns = tuple(columns)
        params = layer.with_defaults(params)
        rows: list[list] = [[] for _ in searches]
        for row in _execute(session, self._union(layer, searches, columns), {**params, "qlon": lon, "qlat": lat}):
            point = tuple(row[:-1])
            for i, found in enumerate(rows):
                if row[-1] >> i & 1:
                    found.append(point)
        return [self._iterate(session, layer, lat, lon,
                              self._scan(session, layer, lat, lon, where, batch, columns, params, first_rows=rows[i]),
                              batch, (), params)
                for i, (where, batch) in enumerate(searches)]


def index_for(session: Session, *, start_radius_m: float = 10_000.0) -> SpatialIndex:
    """The spatial index that suits the session's database engine."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return PostGISIndex()
    if dialect == "sqlite":
        return SQLiteRTreeIndex(start_radius_m=start_radius_m)
    return BruteForceIndex()


def brute_force_nearest(points: Iterable[Row], latitude: float, longitude: float, k: int) -> list[Neighbour]:
    """Exact nearest ``k`` of an in-memory list of points (reference for tests and benchmarks)."""
    lat, lon = check_point(latitude, longitude)
    measured = [Neighbour(geodesic_m(lat, lon, a, b), pid, a, b) for pid, a, b in points]
    measured.sort(key=lambda n: (n.distance_m, str(n.id)))
    return measured[:k]
