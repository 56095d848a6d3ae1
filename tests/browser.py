"""A headless Chromium driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages ending in NUL on fds 3 and 4), so
the page tests need no driver package, no WebSocket client and no network.

Only what the page tests use: open a page, run JavaScript in it, wait for a
condition, and collect the page's uncaught exceptions and console errors
(which include Content-Security-Policy violations); for the handheld app also
a phone-sized screen, the network cut (DevTools network emulation, in the
page and in its service worker) and requests failed on purpose.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(AssertionError):
    pass


def _above(fd: int, floor: int = 10) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, floor)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, executable: str, profile_dir: Path, download_dir: Path | None = None, *,
                 mobile: bool = False):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child's ends moved above 3 and 4, so that placing them there overwrites nothing it needs.
        to_browser_r, from_browser_w = (_above(to_browser_r), _above(from_browser_w))
        # A small Python trampoline puts the pipes on fds 3 and 4, then becomes the browser.
        trampoline = (f"import os, sys; os.dup2({to_browser_r}, 3, inheritable=True); "
                      f"os.dup2({from_browser_w}, 4, inheritable=True); os.close({to_browser_r}); "
                      f"os.close({from_browser_w}); os.execv(sys.argv[1], sys.argv[1:])")
        args = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--remote-debugging-pipe", f"--user-data-dir={profile_dir}", "about:blank"]
        profile_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = profile_dir.parent / "chromium.log"
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen([sys.executable, "-c", trampoline, *args],  # noqa: S603
                                            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._answers: dict[int, dict] = {}
        self._cond = threading.Condition()
        self._closed = False
        self.errors: list[str] = []  # uncaught exceptions and console errors, from every page
        self.console: list[str] = []  # every console message (for a failing test's report)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain, session=True)
        if download_dir is not None:
            self.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
        self.offline = False
        self._paused: list[dict] = []  # Fetch.requestPaused events, handled by fail_requests()
        self._fail: dict = {}
        if mobile:  # a 360x780 phone with touch
            self.send("Emulation.setDeviceMetricsOverride", {"width": 360, "height": 780, "deviceScaleFactor": 2,
                                                             "mobile": True}, session=True)
            self.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5}, session=True)

    # --- protocol --------------------------------------------------------------------------------------------

    def _read(self):
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._answers[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self._event(message)

    def _event(self, message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append("exception: " + (details.get("exception", {}).get("description")
                                                or details.get("text", "")))
        if method == "Runtime.consoleAPICalled":
            self.console.append(params.get("type") + ": " + " ".join(
                str(a.get("value", a.get("description"))) for a in params.get("args", []))[:300])
        if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append("console.error: " + " ".join(str(a.get("value", a.get("description")))
                                                            for a in params.get("args", [])))
        elif method == "Fetch.requestPaused":
            with self._cond:
                self._paused.append(message)
                self._cond.notify_all()
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            if entry.get("url", "").endswith("/favicon.ico"):
                return  # the browser asks for one by itself; the pages have none
            self.errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")

    def send(self, method: str, params: dict | None = None, *, session: bool | str = False,
             timeout: float = 30) -> dict:
        with self._cond:
            self._next_id += 1
            message_id = self._next_id
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session if session is True else session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserError(f"chromium is gone; its log ends: {self.log_tail()}") from None
        deadline = time.monotonic() + timeout
        with self._cond:
            while message_id not in self._answers:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise BrowserError(f"no answer to {method}; chromium's log ends: {self.log_tail()}")
                self._cond.wait(left)
            answer = self._answers.pop(message_id)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    # --- what tests use --------------------------------------------------------------------------------------

    def evaluate(self, expression: str):
        """Run an expression in the page (awaiting a promise) and return its JSON value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r}: {result['exceptionDetails'].get('exception', {})}")
        return result.get("result", {}).get("value")

    def goto(self, url: str):
        self.send("Page.navigate", {"url": url}, session=True)
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def wait_for(self, expression: str, timeout: float = 20):
        """Wait until the expression is truthy in the page; returns its value."""
        deadline = time.monotonic() + timeout
        last = None
        probe = f"(() => {{ const v = ({expression}); return v instanceof Node ? true : v; }})()"  # a node: found
        while time.monotonic() < deadline:
            try:
                last = self.evaluate(probe)
            except BrowserError:
                last = None  # the page is navigating
            if last:
                return last
            time.sleep(0.1)
        flash = None
        with contextlib.suppress(BrowserError):
            flash = self.evaluate("(document.getElementById('flash') || {}).textContent")
        raise BrowserError(f"timed out waiting for {expression!r} (last {last!r}; flash {flash!r}; "
                           f"errors {self.errors})")

    # --- network --------------------------------------------------------------------------------------------

    def _targets(self) -> list[str]:
        """The page's session and one for each service worker (attached once)."""
        sessions = [self.session]
        self.__dict__.setdefault("_workers", {})
        for info in self.send("Target.getTargets")["targetInfos"]:
            if info["type"] == "service_worker":
                if info["targetId"] not in self._workers:
                    self._workers[info["targetId"]] = self.send(
                        "Target.attachToTarget", {"targetId": info["targetId"], "flatten": True})["sessionId"]
                    self.send("Network.enable", session=self._workers[info["targetId"]])
                sessions.append(self._workers[info["targetId"]])
        return sessions

    def set_offline(self, offline: bool):
        """Cut or restore the network, for the page and its service workers."""
        self.offline = offline
        for session in self._targets():
            if session == self.session:
                self.send("Network.enable", session=True)
            with contextlib.suppress(BrowserError):  # a worker that stopped meanwhile
                self.send("Network.emulateNetworkConditions", {"offline": offline, "latency": 0,
                                                               "downloadThroughput": -1, "uploadThroughput": -1},
                          session=session)

    def intercept(self, patterns: list[dict]):
        """Pause requests matching these Fetch patterns (urlPattern, requestStage); see :meth:`next_paused`."""
        self.send("Fetch.enable", {"patterns": patterns}, session=True)

    def next_paused(self, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._paused:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise BrowserError("no request was paused")
                self._cond.wait(left)
            return self._paused.pop(0)["params"]

    def screenshot(self, path: Path) -> Path:
        """The page as a PNG (kept as a test artefact: tests/artefacts/ unless FIELDSYNC_ARTEFACTS says where)."""
        import base64

        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def log_tail(self, size: int = 2000) -> str:
        try:
            return self.log_path.read_bytes()[-size:].decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self):
        if getattr(self, "_shut", False):
            return
        self._shut = True
        with contextlib.suppress(BrowserError):
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._to_browser)
        self._reader.join(timeout=5)
        os.close(self._from_browser)
