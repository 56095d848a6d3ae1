"""Dispatch settings refuse values the search or the ranking cannot work with,
when the app starts rather than on the first query."""

from __future__ import annotations

import pytest

from server.config import DefaultConfig
from server.dispatch.settings import DispatchSettings


def _config(**overrides) -> dict:
    config = {name: getattr(DefaultConfig, name) for name in dir(DefaultConfig) if name.isupper()}
    config.update(overrides)
    return config


def test_the_defaults_are_valid():
    settings = DispatchSettings.from_config(_config())
    assert settings.search_start_km > 0 and settings.speed_kmh > 0


@pytest.mark.parametrize(("name", "value", "message"), [
    ("DISPATCH_WEIGHTS", {"eta": 50, "charm": 10}, "unknown dispatch weight"),
    ("DISPATCH_WEIGHTS", {"eta": -1}, "must not be negative"),
    ("DISPATCH_SPEED_KMH", 0, "speeds must be positive"),
    ("DISPATCH_ROAD_FACTOR", 0.5, "road factor at least 1"),
    ("DISPATCH_SEARCH_START_KM", 0, "first search ring"),  # a ring of no size never grows: the search would not end
    ("DISPATCH_SEARCH_START_KM", -5, "first search ring"),
    ("DISPATCH_OVERTIME_PENALTY_MINUTES", -1, "overtime penalty"),
])
def test_unworkable_values_are_refused(name, value, message):
    with pytest.raises(ValueError, match=message):
        DispatchSettings.from_config(_config(**{name: value}))


def test_an_app_with_unworkable_settings_does_not_start(tmp_path):
    from server import create_app

    with pytest.raises(ValueError, match="first search ring"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                    "DISPATCH_SEARCH_START_KM": 0})
