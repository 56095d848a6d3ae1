"""Configuration: defaults here, then ``FIELDSYNC_*`` environment variables,
then the overrides handed to :func:`server.create_app` (tests)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


# Logged once per start while SECRET_KEY is the demo default; the mark in the
# environment keeps forked workers and child processes from repeating it.
DEMO_KEY_WARNING = (
    "SECRET_KEY is the demo default, published in the source: anything Flask signs with it "
    "can be forged. Set FIELDSYNC_SECRET_KEY to a long random value before real use (README).")
DEMO_KEY_WARNED_ENV = "FIELDSYNC_DEMO_KEY_WARNED"


class DefaultConfig:
    # Storage
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'fieldsync.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # SQLite page cache per connection (MiB; SQLite's default is 2). A sync
    # push touches hundreds of index pages; with a cache this size they stay in
    # memory between requests instead of spilling and being read back.
    SQLITE_CACHE_MIB = 64

    # Security. The default key is for local demos only; production sets
    # FIELDSYNC_SECRET_KEY (see README).
    SECRET_KEY = "dev-only-insecure-key"  # noqa: S105  (demo default; README says to set it)
    DEMO_SECRET_KEY = SECRET_KEY  # the app warns at start while SECRET_KEY is still this
    TOKEN_TTL_SECONDS = 12 * 3600
    LOGIN_MAX_FAILURES = 5  # per username in the window
    LOGIN_MAX_FAILURES_PER_ADDRESS = 30  # per client address in the window, across usernames
    LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
    # Reverse proxies in front of the app that set X-Forwarded-For (0: none, the
    # header is ignored so a client cannot choose its own address).
    TRUSTED_PROXY_HOPS = 0
    # The oldest handheld app that may log in and sync ("2.4.1"; None: any). The app
    # states its version in the X-App-Version header (server/accounts/app_versions.py).
    MIN_APP_VERSION = None
    IDEMPOTENCY_KEY_TTL_HOURS = 24  # how long a POST's Idempotency-Key and its answer are kept

    # Request limits: JSON bodies; uploads have their own limit.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # A poor network: a body read that waits this long for a byte ends the
    # request, and no body may take longer than REQUEST_BODY_SECONDS in all
    # (server/serving.py). A tus upload keeps what arrived; the client resumes.
    REQUEST_READ_TIMEOUT_SECONDS = 20
    REQUEST_BODY_SECONDS = 300
    # Answers are gzip-compressed for clients that accept it (flask-compress):
    # JSON (pulls, lists, WatermelonDB) shrinks about 8x; photos, PDFs and other
    # already-compressed media are left as they are (not in the list).
    COMPRESS_MIMETYPES = ["application/json", "text/html", "text/css", "text/javascript", "application/javascript",
                          "image/svg+xml", "text/csv", "text/plain"]
    COMPRESS_ALGORITHM = ["gzip"]  # every phone HTTP stack inflates it transparently
    COMPRESS_LEVEL = 6
    COMPRESS_MIN_SIZE = 500  # smaller answers fit in a packet either way
    COMPRESS_STREAMS = False  # streamed answers are blobs and files

    # /metrics (Prometheus): answered only with this bearer token, or to these
    # networks (comma-separated, "10.0.0.0/8,127.0.0.1/32"); neither: 404.
    METRICS_TOKEN = None
    METRICS_ALLOW = ""
    PAGE_SIZE_DEFAULT = 50
    PAGE_SIZE_MAX = 500

    # The zone every time is shown in to people (pages, signing page, PDFs);
    # storage stays UTC. FIELDSYNC_COMPANY_TIMEZONE sets it (an IANA name).
    COMPANY_TIMEZONE = "Asia/Shanghai"

    # Map tiles for the dispatch page's map: a URL template such as
    # "https://tiles.example.cn/{z}/{x}/{y}.png" (a company's own tile server,
    # AMap, Tianditu). Empty: no tiles, the map draws its points, labels and
    # scale over a plain background (offline, tests). FIELDSYNC_MAP_TILE_URL.
    MAP_TILE_URL = ""
    MAP_TILE_ATTRIBUTION = ""

    # Monthly statistics: labour cost of an hour on site or travelling (CNY), for the cost figures.
    LABOUR_COST_PER_HOUR = 80.0

    # Service clocks (hours), overridden per contract.
    SLA_RESPONSE_HOURS = 2
    SLA_ON_SITE_HOURS = 24
    SLA_RESOLVE_HOURS = 72

    # Sync (sync/README.md)
    SYNC_PUSH_MAX_OPS = 1000
    SYNC_PUSH_MAX_BYTES = 4 * 1024 * 1024
    SYNC_TOMBSTONE_RETENTION_DAYS = 30

    # Dispatch (server/dispatch/settings.py says what each does)
    DISPATCH_ROAD_FACTOR = 1.3  # road distance / geodesic distance
    DISPATCH_SPEED_KMH = 50  # a technician's average travel speed
    # Score points per criterion. Arrival dominates; a van already holding the
    # parts is worth roughly a 30-60 minute detour at city range, never a day's drive.
    DISPATCH_WEIGHTS = {"eta": 50, "deadline": 30, "parts": 12, "workload": 8}
    DISPATCH_ETA_HALF_SCORE_MINUTES = 360  # an arrival this far away earns half the ETA points
    DISPATCH_STALE_POSITION_MINUTES = 60  # a last known position older than this is stale
    DISPATCH_CANDIDATE_POOL = 20  # the nearest available technicians that get ranked
    DISPATCH_CANDIDATE_LIMIT = 10  # candidates returned
    DISPATCH_EXCLUDED_LIMIT = 10  # nearest filtered-out technicians returned, with reasons
    DISPATCH_SCAN_LIMIT = 2000  # technicians examined at most per query
    DISPATCH_SEARCH_START_KM = 10  # first search ring tried (SQLite R*Tree; resized by counting its points)
    DISPATCH_TRANSFER_SPEED_KMH = 60  # stock transfers
    DISPATCH_HANDLING_HOURS = {"van": 0, "service_station": 1, "regional_warehouse": 2, "central_warehouse": 4}
    DISPATCH_WARRANTY_HOLDBACK = 1  # last units per location kept for warranty repairs
    DISPATCH_STOCK_OPTIONS_LIMIT = 10
    DISPATCH_SWAP_AFTER_HOURS = 4  # on site this long without completion: suggest a spare unit
    # When nobody meets a deadline: asking for overtime counts as arriving this much later than calling out
    # someone on call (or sending someone on shift), so on-call duty comes first unless overtime is far sooner.
    DISPATCH_OVERTIME_PENALTY_MINUTES = 60

    # Media
    MEDIA_BACKEND = "local"  # or "s3"
    MEDIA_ROOT = str(INSTANCE_DIR / "media")
    S3_BUCKET = "fieldsync-media"
    S3_ENDPOINT_URL = None
    S3_REGION = "us-east-1"
    S3_ACCESS_KEY_ID = None  # None: boto3's own credential chain (env, instance role)
    S3_SECRET_ACCESS_KEY = None
    S3_PREFIX = ""
    # tus uploads with the local backend: partial bytes are staged here (a
    # volume shared by the app processes); None means MEDIA_ROOT/uploads.
    # With s3 they are staged in the bucket (media/staging.py).
    MEDIA_UPLOAD_DIR = None
    MEDIA_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
    MEDIA_UPLOAD_EXPIRY_SECONDS = 24 * 3600
    MEDIA_MAX_OPEN_UPLOADS = 100  # unfinished uploads per user: bounds the staging disk one account can hold
    MEDIA_EXIF_NAIVE_TIMEZONE = "UTC"  # zone of EXIF times with no offset and no GPS clock
    # Above any phone camera; checked from the header, before decoding.
    MEDIA_MAX_PIXELS = 64_000_000
    MEDIA_THUMBNAIL_SIZES = (256, 1024)
    SIGNING_LINK_TTL_SECONDS = 24 * 3600

    # Notifications (server/notifications): the outbox is delivered by `flask notify-worker`.
    # FIELDSYNC_NOTIFY_* sets them; FIELDSYNC_NOTIFY_MANAGER_EMAILS as a JSON list or "a@x, b@y".
    NOTIFY_SMTP_HOST = "127.0.0.1"
    NOTIFY_SMTP_PORT = 25
    NOTIFY_SMTP_STARTTLS = False
    NOTIFY_SMTP_USER = None
    NOTIFY_SMTP_PASSWORD = None
    NOTIFY_FROM = "FieldSync <noreply@localhost>"
    NOTIFY_MANAGER_EMAILS = ()  # who gets the managers' notifications by email (breaches, bad ratings, incidents)
    NOTIFY_MAX_ATTEMPTS = 8  # then the delivery is marked failed (kept; redeliver from the API)
    NOTIFY_BACKOFF_SECONDS = 30  # first retry; doubles each time, capped below
    NOTIFY_BACKOFF_CAP_SECONDS = 6 * 3600
    NOTIFY_TIMEOUT_SECONDS = 10
    SURVEY_LINK_TTL_DAYS = 30

    # Demo data
    DEMO_PASSWORD = "fieldsync-demo"  # noqa: S105  (demo accounts only)

    # OpenAPI (flask-smorest)
    API_TITLE = "FieldSync"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Served from the locally installed swagger-ui-bundle; no CDN.
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"

    JSON_SORT_KEYS = False


def load_environment(config: dict) -> None:
    """Read deployment settings from the environment into ``config``."""
    if os.environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("FIELDSYNC_MIN_APP_VERSION"):
        # Read as text: the JSON reading of FIELDSYNC_* would turn "2.10" into the number 2.1.
        config["MIN_APP_VERSION"] = os.environ["FIELDSYNC_MIN_APP_VERSION"].strip().strip('"')
    if os.environ.get("DEMO_PASSWORD"):
        config["DEMO_PASSWORD"] = os.environ["DEMO_PASSWORD"]


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
