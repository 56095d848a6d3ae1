"""The notification outbox: written in the transaction of its cause, delivered
by email to a real SMTP server (aiosmtpd on 127.0.0.1) and by signed webhooks
to a real HTTP server, retried with back-off, logged, redeliverable, and never
lost while a target is down. On both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import date, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from server.accounts.models import Role
from server.db import utcnow
from server.extensions import db
from server.notifications.delivery import DeliverySettings, deliver_due
from server.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, Notification
from tests import factories as f
from tests.conftest import tool_missing


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free port of 127.0.0.1, collecting what it receives."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        tool_missing("aiosmtpd is not installed (requirements-dev.txt)")

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
            return "250 OK"

    handler = Collect()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


class Receiver:
    """A webhook receiver on 127.0.0.1: records each request, answers the queued statuses (then 200).
    Given the endpoint's secret it checks each request's signature as a company's system would, and
    answers 401 (recording the request in ``rejected``) when the body does not match it."""

    def __init__(self, secret: bytes | None = None):
        self.requests, self.statuses, self.rejected = [], [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if secret is not None:
                    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                    if not hmac.compare_digest(expected, self.headers.get("X-FieldSync-Signature", "")):
                        receiver.rejected.append((self.headers, body))
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                receiver.requests.append((self.headers, body))  # case-insensitive names
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def notify_config(app):
    saved = {k: app.config[k] for k in ("NOTIFY_SMTP_PORT", "NOTIFY_MANAGER_EMAILS")}
    yield app.config
    app.config.update(saved)


def _settings(app, **overrides) -> DeliverySettings:
    return DeliverySettings.from_config({**app.config, **overrides})


def _webhook(client, admin, url, kinds, secret="s3cret-s3cret-s3cret"):  # noqa: S107 (a test key)
    r = client.post("/api/v1/notifications/webhooks", json={"name": "ERP", "url": url, "kinds": kinds,
                                                            "secret": secret}, headers=admin)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_survey_link_is_emailed_over_smtp_by_the_worker(app, client, runner, smtp_server, notify_config):
    office = f.login_as(client, f.user(Role.dispatcher))
    f.customer("邮件客户", contact_name="赵经理", email="zhao@example.test")
    today = date.today()
    campaign = client.post("/api/v1/quality/surveys", json={"name": "2026 下半年", "starts_on": str(today),
                                                            "ends_on": str(today + timedelta(days=9))},
                           headers=office).get_json()
    url = client.post(f"/api/v1/quality/surveys/{campaign['id']}/send", json={},
                      headers=office).get_json()["invited"][0]["url"]
    db.session.commit()

    notify_config["NOTIFY_SMTP_PORT"] = smtp_server.port
    result = runner.invoke(args=["notify-worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "delivered 1" in result.output
    [(to, message)] = smtp_server.messages
    assert to == ["zhao@example.test"]
    assert "顾客满意度调查" in message["Subject"]
    assert url in message.get_content() and "赵经理" in message.get_content()
    delivery = db.session.scalar(select(Delivery))
    assert delivery.status is DeliveryStatus.delivered and delivery.attempts == 1
    assert [a.ok for a in delivery.attempt_log] == [True]
    # Nothing is sent twice.
    db.session.commit()
    assert "delivered 0" in runner.invoke(args=["notify-worker", "--once"]).output
    assert len(smtp_server.messages) == 1


def test_ticket_events_reach_a_signed_webhook_and_breaches_email_the_managers(app, client, runner, receiver,
                                                                             smtp_server, notify_config):
    admin = f.login_as(client, f.user(Role.admin))
    hook = _webhook(client, admin, receiver.url, ["ticket."])
    assert "secret" in hook
    assert "secret" not in client.get("/api/v1/notifications/webhooks", headers=admin).get_json()["items"][0]
    site = f.site()
    r = client.post("/api/v1/tickets", json={"customer_id": str(site.customer_id), "site_id": str(site.id),
                                             "channel": "phone", "category": "repair", "summary": "不制冷",
                                             "received_at": (utcnow() - timedelta(hours=30)).isoformat()},
                    headers=admin)
    ticket_id = r.get_json()["id"]
    assert client.post(f"/api/v1/tickets/{ticket_id}/transitions", json={"to": "acknowledged"},
                       headers=admin).status_code == 200
    db.session.commit()
    # Escalation (the clocks ran out): the managers are told by email, the webhook hears it too.
    notify_config["NOTIFY_MANAGER_EMAILS"] = ("boss@example.test", "qa@example.test")
    notify_config["NOTIFY_SMTP_PORT"] = smtp_server.port
    assert runner.invoke(args=["escalate-breaches"]).exit_code == 0
    result = runner.invoke(args=["notify-worker", "--once"])
    assert result.exit_code == 0, result.output

    kinds = [json.loads(body)["kind"] for _, body in receiver.requests]
    assert kinds == ["ticket.opened", "ticket.status_changed", "ticket.clock_breach"]
    for headers, body in receiver.requests:
        expected = "sha256=" + hmac.new(b"s3cret-s3cret-s3cret", body, hashlib.sha256).hexdigest()
        assert headers["X-FieldSync-Signature"] == expected
        assert headers["X-FieldSync-Event"] == json.loads(body)["kind"]
        assert headers["X-FieldSync-Delivery"] == json.loads(body)["delivery_id"]
    changed = json.loads(receiver.requests[1][1])
    assert changed["payload"]["from_status"] == "new" and changed["payload"]["status"] == "acknowledged"
    [(to, message)] = smtp_server.messages
    assert to == ["boss@example.test", "qa@example.test"]
    assert "超时预警" in message["Subject"]


def test_job_events_reach_a_signed_webhook_through_the_worker(app, client, runner):
    """Job events (the office assigns and cancels, the handheld's sync push moves a job to completed) go
    out through the notify worker to a real HTTP receiver that checks the HMAC signature of each body."""
    from tests.syncing import Handheld, op

    secret = "job-hook-secret-0123456789"  # noqa: S105 (a test key)
    receiver = Receiver(secret=secret.encode())
    try:
        admin = f.login_as(client, f.user(Role.admin))
        _webhook(client, admin, receiver.url, ["job."], secret=secret)
        tech = f.technician(name="吴师傅")
        first, second = f.ticket(ast=f.asset()), f.ticket(ast=f.asset())
        jobs = []
        for ticket in (first, second):
            r = client.post(f"/api/v1/tickets/{ticket.id}/assign", json={"technician_id": str(tech.id)},
                            headers=admin)
            assert r.status_code == 201, r.get_json()
            jobs.append(r.get_json()["job"])
        done, dropped = jobs
        device = Handheld(client, tech)
        version = done["version"]
        for fields in ({"status": "en_route"}, {"status": "on_site", "arrived_at": utcnow().isoformat()},
                       {"status": "completed", "work_done": "更换膨胀阀", "no_signature_reason": "customer_absent"}):
            result = device.push([op("jobs", done["id"], "update", fields, base_version=version)])
            assert result["results"][0]["status"] == "applied", result
            version = result["results"][0]["version"]
        assert client.post(f"/api/v1/jobs/{dropped['id']}/cancel", json={"reason": "客户自行修好"},
                           headers=admin).status_code == 200
        db.session.commit()

        result = runner.invoke(args=["notify-worker", "--once"])
        assert result.exit_code == 0, result.output
        assert "delivered 6" in result.output
        assert receiver.rejected == []
        events = [json.loads(body) for _, body in receiver.requests]
        assert [(e["kind"], e["payload"].get("status"), e["payload"]["job_id"]) for e in events] == [
            ("job.assigned", None, done["id"]), ("job.assigned", None, dropped["id"]),
            ("job.status_changed", "en_route", done["id"]), ("job.status_changed", "on_site", done["id"]),
            ("job.status_changed", "completed", done["id"]), ("job.status_changed", "cancelled", dropped["id"])]
        for (headers, _), event in zip(receiver.requests, events, strict=True):
            assert headers["X-FieldSync-Event"] == event["kind"]
            assert headers["X-FieldSync-Delivery"] == event["delivery_id"]
        assert events[4]["payload"]["ticket_id"] == str(first.id)
        assert events[4]["payload"]["technician_id"] == str(tech.id)
        assert {d.status for d in db.session.scalars(select(Delivery))} == {DeliveryStatus.delivered}
        # Signed with a key the receiver does not hold: refused, so not delivered, and not lost either.
        db.session.commit()
        assert client.patch(f"/api/v1/notifications/webhooks/{_hook_id(client, admin)}",
                            json={"active": False}, headers=admin).status_code == 200
        _webhook(client, admin, receiver.url, ["job."], secret="another-secret-0123456789")
        assert client.post(f"/api/v1/jobs/{done['id']}/cancel", json={}, headers=admin).status_code == 409
        tech2 = f.technician(name="郑师傅")
        assert client.post(f"/api/v1/jobs/{jobs[1]['id']}/reassign", json={"technician_id": str(tech2.id)},
                           headers=admin).status_code == 409  # cancelled: finished
        third = client.post(f"/api/v1/tickets/{f.ticket(ast=f.asset()).id}/assign",
                            json={"technician_id": str(tech.id)}, headers=admin).get_json()["job"]
        assert client.post(f"/api/v1/jobs/{third['id']}/reassign", json={"technician_id": str(tech2.id)},
                           headers=admin).status_code == 200
        db.session.commit()
        result = runner.invoke(args=["notify-worker", "--once"])
        assert result.exit_code == 0, result.output
        assert [json.loads(body)["kind"] for _, body in receiver.rejected] == ["job.assigned", "job.status_changed"]
        assert json.loads(receiver.rejected[1][1])["payload"]["technician_id"] == str(tech2.id)
        assert len(receiver.requests) == 6
        pending = db.session.scalars(select(Delivery).where(Delivery.status != DeliveryStatus.delivered)).all()
        assert len(pending) == 2 and all(d.status is DeliveryStatus.pending and d.attempts == 1 for d in pending)
    finally:
        receiver.stop()


def _hook_id(client, admin) -> str:
    [hook] = client.get("/api/v1/notifications/webhooks", headers=admin).get_json()["items"]
    return hook["id"]



def test_a_target_that_is_down_loses_nothing_and_redelivery_works(app, client, receiver):
    admin = f.login_as(client, f.user(Role.admin))
    down = socket.socket()
    down.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{down.getsockname()[1]}/hook"
    down.close()  # nothing listens there now
    hook = _webhook(client, admin, dead_url, ["ticket.opened"])
    ticket = client.post("/api/v1/tickets", json={"customer_id": str(f.site().customer_id),
                                                  "site_id": None, "channel": "phone", "category": "repair",
                                                  "summary": "x"}, headers=admin)
    assert ticket.status_code == 422  # a refused cause writes no notification either
    site = f.site()
    assert client.post("/api/v1/tickets", json={"customer_id": str(site.customer_id), "site_id": str(site.id),
                                                "channel": "phone", "category": "repair", "summary": "漏水"},
                       headers=admin).status_code == 201
    assert db.session.query(Notification).count() == 1
    db.session.commit()

    settings = _settings(app, NOTIFY_MAX_ATTEMPTS=3, NOTIFY_BACKOFF_SECONDS=30)
    now = utcnow()
    assert deliver_due(db.session, settings, now=now) == {"delivered": 0, "failed": 1}
    db.session.commit()
    delivery = db.session.scalar(select(Delivery))
    assert delivery.status is DeliveryStatus.pending and delivery.attempts == 1
    assert delivery.next_attempt_at == now + timedelta(seconds=30)  # back-off: 30 s, then 60 s
    assert deliver_due(db.session, settings, now=now + timedelta(seconds=29)) == {"delivered": 0, "failed": 0}
    deliver_due(db.session, settings, now=now + timedelta(seconds=30))
    db.session.commit()
    assert delivery.next_attempt_at == now + timedelta(seconds=90)
    deliver_due(db.session, settings, now=now + timedelta(seconds=90))
    db.session.commit()
    # Out of tries: failed, kept with its log.
    assert delivery.status is DeliveryStatus.failed and delivery.attempts == 3
    log = db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert [a.ok for a in log] == [False, False, False] and all(a.error for a in log)
    listed = client.get("/api/v1/notifications?undelivered=true", headers=admin).get_json()["items"]
    assert [n["kind"] for n in listed] == ["ticket.opened"]
    assert listed[0]["deliveries"][0]["status"] == "failed" and len(listed[0]["deliveries"][0]["attempt_log"]) == 3

    # The receiver is back (at a new address): redeliver. First a 500, then it takes it.
    assert client.patch(f"/api/v1/notifications/webhooks/{hook['id']}", json={"url": receiver.url},
                        headers=admin).status_code == 200
    receiver.statuses = [500]
    r = client.post(f"/api/v1/notifications/deliveries/{delivery.id}/redeliver", headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "pending"
    db.session.commit()
    later = utcnow()
    assert deliver_due(db.session, settings, now=later) == {"delivered": 0, "failed": 1}
    assert deliver_due(db.session, settings, now=later + timedelta(seconds=30)) == {"delivered": 1, "failed": 0}
    db.session.commit()
    assert delivery.status is DeliveryStatus.delivered
    assert [a.status_code for a in db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))][-2:] \
        == [500, 200]
    assert len(receiver.requests) == 2
    tech = f.login_as(client, f.technician())
    assert client.get("/api/v1/notifications", headers=tech).status_code == 403
    office = f.login_as(client, f.user(Role.dispatcher))
    assert client.post("/api/v1/notifications/webhooks", json={"name": "x", "url": receiver.url},
                       headers=office).status_code == 403
    bad = client.post("/api/v1/notifications/webhooks", json={"name": "x", "url": "file:///etc/passwd"},
                      headers=admin)
    assert bad.status_code == 422


def test_customers_hear_of_their_appointment_and_signing_link(app, client):
    dispatcher = f.login_as(client, f.user(Role.dispatcher))
    site = f.site(f.customer("预约客户", contact_name="孙工", email="sun@example.test", phone="13500000000"))
    ticket = f.ticket(ast=f.asset(site))
    tech = f.technician(name="李师傅")
    r = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=dispatcher, json={"technician_id": str(tech.id)})
    assert r.status_code == 201, r.get_json()
    job_id = r.get_json()["job"]["id"]
    appointment = db.session.scalar(select(Notification).where(Notification.kind == "job.appointment"))
    assert "李师傅" in appointment.body and "预计到达时间" in appointment.body
    assert [d.address for d in appointment.deliveries] == ["sun@example.test"]
    db.session.commit()
    link = client.post(f"/api/v1/jobs/{job_id}/signing-links", json={}, headers=dispatcher)
    assert link.status_code == 201, link.get_json()
    note = db.session.scalar(select(Notification).where(Notification.kind == "signing.link"))
    assert link.get_json()["url"] in note.body and note.payload["phone"] == "13500000000"


def test_the_customer_hears_when_the_technician_sets_off(client):
    from tests.syncing import Handheld, op

    site = f.site(f.customer("等待客户", email="wait@example.test"))
    tech = f.technician(name="周师傅")
    job = f.job(f.ticket(ast=f.asset(site)), tech=tech, planned_start=utcnow() + timedelta(hours=1))
    Handheld(client, tech).push([op("jobs", job.id, "update", {"status": "en_route"}, base_version=1)])
    note = db.session.scalar(select(Notification).where(Notification.kind == "job.eta"))
    assert "周师傅" in note.body and "预计" in note.body
    assert [d.address for d in note.deliveries] == ["wait@example.test"]
