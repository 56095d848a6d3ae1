"""The handheld app's files as FieldSync serves them at /app/ (the browser
tests in test_handheld_browser.py run the app itself)."""

from __future__ import annotations

import json
import re

from server.pages.handheld import DIST


def test_the_app_shell_is_served_under_a_strict_policy(client):
    page = client.get("/app/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy and "unsafe" not in policy
    html = page.get_data(as_text=True)
    # Nothing from another origin, and no inline script or style.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert client.get("/app").status_code == 308
    assert client.get("/app/index.html").get_data() == page.get_data()  # no redirect: the worker caches both


def test_manifest_worker_and_bundle(client):
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = json.loads(manifest.get_data())
    assert body["start_url"] == "./" and body["display"] == "standalone" and body["lang"] == "zh-CN"
    worker = client.get("/app/sw.js")
    assert worker.mimetype == "text/javascript" and worker.headers["Cache-Control"] == "no-cache"
    text = worker.get_data(as_text=True)
    # The shell it caches is exactly the files there are.
    shell = json.loads(re.search(r"const SHELL = (\[.*\])", text).group(1))
    for name in shell:
        assert client.get(f"/app/{name[2:]}").status_code == 200, name
    assert client.get("/app/app.js").mimetype == "text/javascript"
    assert not any(p.name.endswith(".map") for p in DIST.iterdir())


def test_unknown_and_escaping_paths_are_not_found(client):
    for path in ("/app/nope.js", "/app/../server/config.py", "/app/%2e%2e/README.md", "/app/x/app.js"):
        assert client.get(path).status_code == 404, path
