"""technicians' spatial index holds both places they may be ranked from

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 07:20:00

Dispatch ranks a technician from their last fix while it is fresh and from
their home base once it is stale (the moment it goes stale depends on the
query's time), and the search must walk technicians by that same position: a
technician with a stale fix far away but a home base near the site used to be
met late in the walk. The index now holds both places:

* PostgreSQL: the GiST index is on the geography of the two points (the last
  fix, else the home base; and the home base): its ``<->`` distance is the
  nearer of the two, a lower bound of the position's, in KNN order.
* SQLite: each technician's R*Tree entry is the box around the two points
  (a ring fetches a technician when either place may lie within it).

The expressions here must match ``server/dispatch/spatial.py`` exactly, or the
planner ignores the index.
"""
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def _last_or_home(row, coordinate):
    return (f"CASE WHEN {row}.last_latitude IS NOT NULL AND {row}.last_longitude IS NOT NULL "
            f"THEN {row}.last_{coordinate} ELSE {row}.home_{coordinate} END")


def _point_gist():
    return ("(st_setsrid(st_makepoint(" + _last_or_home("technicians", "longitude") + ", "
            + _last_or_home("technicians", "latitude") + "), 4326)::geography)")


def _places_gist():
    last_or_home = (f"st_makepoint({_last_or_home('technicians', 'longitude')}, "
                    f"{_last_or_home('technicians', 'latitude')})")
    return (f"(st_setsrid(st_collect({last_or_home}, st_makepoint(technicians.home_longitude, "
            "technicians.home_latitude)), 4326)::geography)")


KEY_OF = "(SELECT key FROM rtree_technician_keys WHERE technician_id = new.id)"


def _box(row, lo_hi):
    """min_lat, max_lat, min_lon, max_lon of the box around both places (or the point, when ``lo_hi`` is false)."""
    lat, lon = _last_or_home(row, "latitude"), _last_or_home(row, "longitude")
    if not lo_hi:
        return f"{lat}, {lat}, {lon}, {lon}"
    return (f"min({lat}, {row}.home_latitude), max({lat}, {row}.home_latitude), "
            f"min({lon}, {row}.home_longitude), max({lon}, {row}.home_longitude)")


def _sqlite(both_places: bool):
    lat, lon = _last_or_home("new", "latitude"), _last_or_home("new", "longitude")
    op.execute("DROP TRIGGER IF EXISTS rtree_technicians_insert")
    op.execute("DROP TRIGGER IF EXISTS rtree_technicians_move")
    op.execute(f"""
        CREATE TRIGGER rtree_technicians_insert AFTER INSERT ON technicians BEGIN
            INSERT INTO rtree_technician_keys (technician_id) VALUES (new.id);
            INSERT INTO rtree_technicians VALUES ({KEY_OF}, {_box('new', both_places)}, new.id, {lat}, {lon});
        END""")
    lo_lat, hi_lat, lo_lon, hi_lon = _split_box(_box("new", both_places))
    op.execute(f"""
        CREATE TRIGGER rtree_technicians_move AFTER UPDATE OF last_latitude, last_longitude, home_latitude,
                                                               home_longitude ON technicians BEGIN
            UPDATE rtree_technicians SET min_lat = {lo_lat}, max_lat = {hi_lat},
                                         min_lon = {lo_lon}, max_lon = {hi_lon},
                                         lat = {lat}, lon = {lon}
            WHERE key = {KEY_OF};
        END""")
    op.execute("DELETE FROM rtree_technicians")
    op.execute(f"INSERT INTO rtree_technicians SELECT k.key, {_box('t', both_places)}, t.id, "
               f"{_last_or_home('t', 'latitude')}, {_last_or_home('t', 'longitude')} "
               "FROM technicians t JOIN rtree_technician_keys k ON k.technician_id = t.id")


def _split_box(box: str) -> list[str]:
    """The four expressions of a box, split at the commas between them (not those inside min()/max())."""
    parts, depth, current = [], 0, ""
    for ch in box:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS gist_technicians_position")
        op.execute(f"CREATE INDEX gist_technicians_position ON technicians USING gist ({_places_gist()})")
    elif dialect == "sqlite":
        _sqlite(both_places=True)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS gist_technicians_position")
        op.execute(f"CREATE INDEX gist_technicians_position ON technicians USING gist ({_point_gist()})")
    elif dialect == "sqlite":
        _sqlite(both_places=False)
