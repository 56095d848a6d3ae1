"""dispatch: spatial indexes of technicians and stock locations

SQLite: an R*Tree per layer, with a key table (an INTEGER PRIMARY KEY survives
VACUUM, a plain rowid does not) and triggers that keep it in step with every
insert, move and delete, whoever makes them (ORM, sync engine, raw SQL).

PostgreSQL: the PostGIS extension and a GiST index on each layer's position as
geography, for KNN (``<->``). A technician's position is the last known one when
the device reported both coordinates, else the home base; the expressions here
must match ``server/dispatch/spatial.py`` exactly, or the planner ignores the index.

These objects are engine-specific: ``server.database.include_object`` keeps them
out of the model comparison.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:10:00

"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _position(table, coordinate, fallback, row=None):
    prefix = row or table
    return (f"CASE WHEN {prefix}.last_latitude IS NOT NULL AND {prefix}.last_longitude IS NOT NULL "
            f"THEN {prefix}.last_{coordinate} ELSE {prefix}.{fallback} END")


# name, table, rtree, key table, key column, latitude SQL(row), longitude SQL(row), columns that move it
LAYERS = (
    ("technicians", "rtree_technicians", "rtree_technician_keys", "technician_id",
     lambda row: _position("technicians", "latitude", "home_latitude", row),
     lambda row: _position("technicians", "longitude", "home_longitude", row),
     "last_latitude, last_longitude, home_latitude, home_longitude"),
    ("stock_locations", "rtree_stock_locations", "rtree_stock_location_keys", "location_id",
     lambda row: f"{row}.latitude", lambda row: f"{row}.longitude", "latitude, longitude"),
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        for table, _rtree, _keys, _key_column, lat, lon, _moves in LAYERS:
            op.execute(f"CREATE INDEX gist_{table}_position ON {table} USING gist "
                       f"((st_setsrid(st_makepoint({lon(table)}, {lat(table)}), 4326)::geography))")
        return
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, rtree, keys, key_column, lat, lon, moves in LAYERS:
        op.execute(f"CREATE TABLE {keys} (key INTEGER PRIMARY KEY, {key_column} CHAR(32) NOT NULL UNIQUE)")
        op.execute(f"CREATE VIRTUAL TABLE {rtree} USING rtree("
                   f"key, min_lat, max_lat, min_lon, max_lon, +{key_column}, +lat, +lon)")
        key_of = f"(SELECT key FROM {keys} WHERE {key_column} = new.id)"
        op.execute(f"""
            CREATE TRIGGER {rtree}_insert AFTER INSERT ON {table} BEGIN
                INSERT INTO {keys} ({key_column}) VALUES (new.id);
                INSERT INTO {rtree} VALUES ({key_of}, {lat('new')}, {lat('new')}, {lon('new')}, {lon('new')},
                                            new.id, {lat('new')}, {lon('new')});
            END""")
        op.execute(f"""
            CREATE TRIGGER {rtree}_move AFTER UPDATE OF {moves} ON {table} BEGIN
                UPDATE {rtree} SET min_lat = {lat('new')}, max_lat = {lat('new')},
                                   min_lon = {lon('new')}, max_lon = {lon('new')},
                                   lat = {lat('new')}, lon = {lon('new')}
                WHERE key = {key_of};
            END""")
        op.execute(f"""
            CREATE TRIGGER {rtree}_delete AFTER DELETE ON {table} BEGIN
                DELETE FROM {rtree} WHERE key = (SELECT key FROM {keys} WHERE {key_column} = old.id);
                DELETE FROM {keys} WHERE {key_column} = old.id;
            END""")
        # Rows that exist before this revision.
        op.execute(f"INSERT INTO {keys} ({key_column}) SELECT id FROM {table}")
        op.execute(f"INSERT INTO {rtree} SELECT k.key, {lat('t')}, {lat('t')}, {lon('t')}, {lon('t')}, t.id, "
                   f"{lat('t')}, {lon('t')} FROM {table} t JOIN {keys} k ON k.{key_column} = t.id")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: it is database-wide and may serve others.
        for table, *_ in LAYERS:
            op.execute(f"DROP INDEX IF EXISTS gist_{table}_position")
        return
    if op.get_bind().dialect.name != "sqlite":
        return
    for _table, rtree, keys, *_ in LAYERS:
        for suffix in ("insert", "move", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {rtree}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {rtree}")
        op.execute(f"DROP TABLE IF EXISTS {keys}")
