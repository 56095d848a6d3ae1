"""The dispatch map's tile setting: with a tile server configured, its origin
(and only it) is allowed for images and the page hands the URL to the map;
without one, images stay local (the browser test draws that map)."""

from __future__ import annotations

import uuid

import pytest

from server.pages import tile_origin


@pytest.mark.parametrize("url, origin", [
    ("https://{s}.tiles.example.cn/{z}/{x}/{y}.png", "https://*.tiles.example.cn"),
    ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
    ("javascript:alert(1)", None), ("https://a;b/{z}", None), ("", None), ("https://{z}.x/", None),
])
def test_tile_origin(url, origin):
    assert tile_origin(url) == origin


def test_a_configured_tile_server_is_allowed_for_images_and_handed_to_the_map(app, client):
    saved = app.config["MAP_TILE_URL"]
    app.config["MAP_TILE_URL"] = "https://{s}.tiles.example.cn/{z}/{x}/{y}.png"
    try:
        response = client.get(f"/tickets/{uuid.uuid4()}/dispatch")
    finally:
        app.config["MAP_TILE_URL"] = saved
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tiles.example.cn;" in csp
    assert 'data-tile-url="https://{s}.tiles.example.cn/{z}/{x}/{y}.png"' in response.get_data(as_text=True)
    plain = client.get(f"/tickets/{uuid.uuid4()}/dispatch")
    assert "img-src 'self' data:;" in plain.headers["Content-Security-Policy"]
    assert "no-tiles" in plain.get_data(as_text=True)
