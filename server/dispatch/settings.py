"""Dispatch settings: read once from the app's configuration by the HTTP layer
and handed to the domain, which never reads ``current_app`` itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

CRITERIA = ("eta", "deadline", "parts", "workload")


@dataclass(frozen=True)
class DispatchSettings:
    # Travel: geodesic distance × road factor / speed.
    road_factor: float = 1.3
    speed_kmh: float = 50.0
    # Score points per criterion (see ranking.py); any non-negative numbers.
    weights: Mapping[str, float] = field(default_factory=lambda: {"eta": 50.0, "deadline": 30.0, "parts": 12.0,
                                                                   "workload": 8.0})
    # An arrival this many minutes away earns half the ETA points.
    eta_half_score_minutes: float = 360.0
    # A last known position older than this is marked stale.
    stale_after: timedelta = timedelta(minutes=60)
    # Ranking looks at the nearest ``pool_size`` available technicians and returns ``limit``.
    pool_size: int = 20
    limit: int = 10
    excluded_limit: int = 10
    # At most this many technicians are examined per query (a rare product line
    # in a dense city must not scan the whole fleet).
    scan_limit: int = 2000
    search_start_km: float = 10.0  # the first ring tried (SQLite), resized by counting
    # Stock: transfer time = distance × road factor / transfer speed + handling at the source.
    transfer_speed_kmh: float = 60.0
    handling_hours: Mapping[str, float] = field(default_factory=lambda: {
        "van": 0.0, "service_station": 1.0, "regional_warehouse": 2.0, "central_warehouse": 4.0})
    # Warranty repairs have first claim on scarce stock: a repair outside
    # warranty may not take a location's last ``warranty_holdback`` units.
    warranty_holdback: int = 1
    stock_options_limit: int = 10
    # A job on site this long without completion gets a spare-unit swap suggestion.
    swap_after: timedelta = timedelta(hours=4)
    # Late candidates: an overtime call-out ranks as if arriving this much later (see ranking.py).
    overtime_penalty: timedelta = timedelta(minutes=60)

    def __post_init__(self):
        unknown = set(self.weights) - set(CRITERIA)
        if unknown:
            raise ValueError(f"unknown dispatch weight(s): {sorted(unknown)}; known: {CRITERIA}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("dispatch weights must not be negative")
        if self.speed_kmh <= 0 or self.transfer_speed_kmh <= 0 or self.road_factor < 1:
            raise ValueError("speeds must be positive and the road factor at least 1")
        if self.overtime_penalty < timedelta(0):
            raise ValueError("the overtime penalty must not be negative")
        if not self.search_start_km > 0:  # a ring of no size would never grow
            raise ValueError("the first search ring must be larger than 0 km")

    def weight(self, criterion: str) -> float:
        return float(self.weights.get(criterion, 0.0))

    def travel_time(self, distance_km: float, speed_kmh: float | None = None) -> timedelta:
        return timedelta(hours=distance_km * self.road_factor / (speed_kmh or self.speed_kmh))

    @classmethod
    def from_config(cls, config: Mapping) -> DispatchSettings:
        return cls(
            road_factor=float(config["DISPATCH_ROAD_FACTOR"]),
            speed_kmh=float(config["DISPATCH_SPEED_KMH"]),
            weights={k: float(v) for k, v in config["DISPATCH_WEIGHTS"].items()},
            eta_half_score_minutes=float(config["DISPATCH_ETA_HALF_SCORE_MINUTES"]),
            stale_after=timedelta(minutes=float(config["DISPATCH_STALE_POSITION_MINUTES"])),
            pool_size=int(config["DISPATCH_CANDIDATE_POOL"]),
            limit=int(config["DISPATCH_CANDIDATE_LIMIT"]),
            excluded_limit=int(config["DISPATCH_EXCLUDED_LIMIT"]),
            scan_limit=int(config["DISPATCH_SCAN_LIMIT"]),
            search_start_km=float(config["DISPATCH_SEARCH_START_KM"]),
            transfer_speed_kmh=float(config["DISPATCH_TRANSFER_SPEED_KMH"]),
            handling_hours={k: float(v) for k, v in config["DISPATCH_HANDLING_HOURS"].items()},
            warranty_holdback=int(config["DISPATCH_WARRANTY_HOLDBACK"]),
            stock_options_limit=int(config["DISPATCH_STOCK_OPTIONS_LIMIT"]),
            swap_after=timedelta(hours=float(config["DISPATCH_SWAP_AFTER_HOURS"])),
            overtime_penalty=timedelta(minutes=float(config.get("DISPATCH_OVERTIME_PENALTY_MINUTES", 60))),
        )
