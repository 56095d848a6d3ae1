"""Language and time (server/i18n, server/pages/locale.py): the catalogues,
every stored value's label, times in the company's zone, the language switch,
the favicon and the warning about the demo secret key."""

from __future__ import annotations

import enum
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from media.models import PhotoKind
from server import create_app, i18n
from server.accounts.models import Role
from server.config import DEMO_KEY_WARNED_ENV
from server.jobs.models import CheckInKind, CustomerRating, JobStatus
from server.stock import models as stock
from server.tickets.models import Category, Channel, ComplaintClass, Priority, TicketStatus

# Each enum a person reads, with the catalogue kind its labels live under.
ENUM_KINDS: dict[str, type[enum.Enum]] = {
    "ticket_status": TicketStatus, "job_status": JobStatus, "customer_rating": CustomerRating,
    "check_in_kind": CheckInKind, "channel": Channel, "category": Category, "complaint_class": ComplaintClass,
    "priority": Priority, "role": Role, "location_kind": stock.LocationKind,
    "spare_unit_status": stock.SpareUnitStatus, "movement_kind": stock.MovementKind,
    "stock_condition": stock.StockCondition, "reservation_status": stock.ReservationStatus,
    "discrepancy_kind": stock.DiscrepancyKind, "discrepancy_status": stock.DiscrepancyStatus,
    "purchase_request_status": stock.PurchaseRequestStatus, "inspection_result": stock.InspectionResult,
    "transfer_status": stock.TransferStatus, "count_status": stock.CountStatus,
    "serial_status": stock.SerialStatus, "photo_kind": PhotoKind,
}


def test_the_catalogues_have_the_same_keys_and_no_empty_text():
    zh, en = i18n.catalogue("zh-CN"), i18n.catalogue("en")
    assert set(zh) == set(en)
    assert all(v.strip() for v in (*zh.values(), *en.values()))
    # the same placeholders in both languages
    import re

    for key in zh:
        assert set(re.findall(r"\{(\w+)\}", zh[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key


@pytest.mark.parametrize("kind", sorted(ENUM_KINDS))
def test_every_stored_value_has_a_chinese_and_an_english_label(kind):
    for member in ENUM_KINDS[kind]:
        zh, en = i18n.label(kind, member, "zh-CN"), i18n.label(kind, member, "en")
        assert zh != member.value and en != member.value, (kind, member)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), (kind, zh)


def test_labels_and_texts_fall_back_visibly():
    assert i18n.label("customer_rating", "satisfied") == "满意"
    assert i18n.label("customer_rating", "satisfied", "en") == "Satisfied"
    assert i18n.label("ticket_status", "someday") == "someday"  # unknown value: itself
    assert i18n.label("ticket_status", None) == "—"
    # Product lines are open-ended (free text on assets): the known ones have labels, others show their code.
    assert i18n.label("product_line", "chiller") == "冷水机组"
    assert i18n.label("product_line", "chiller", "en") == "Chiller"
    assert i18n.label("product_line", "rooftop_unit", "en") == "rooftop_unit"
    assert i18n.label("product_line", "rooftop_unit") == "rooftop_unit"
    assert i18n.t("no.such.key", "en") == "no.such.key"
    assert i18n.t("clock.left", "en", d="3 h") == "3 h left"
    assert i18n.normalise_locale("en-US") == "en" and i18n.normalise_locale("zh-Hans") == "zh-CN"
    assert i18n.normalise_locale("fr") is None


def test_times_are_written_in_the_company_zone():
    instant = datetime(2026, 12, 5, 17, 30, 5, tzinfo=UTC)
    assert i18n.format_time(instant) == "2026-12-06 01:30"  # Shanghai is UTC+8
    assert i18n.format_time("2026-12-05T17:30:05Z", style="seconds") == "2026-12-06 01:30:05"
    assert i18n.format_time(instant, "Europe/London") == "2026-12-05 17:30"
    assert i18n.format_time(datetime(2026, 12, 5, 17, 30)) == "2026-12-06 01:30"  # naive means UTC
    assert i18n.format_time("2026-12-05") == "2026-12-05"  # a date is not shifted
    assert i18n.format_time(None) == "—"


def test_pages_are_chinese_first_and_the_switch_is_remembered(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "工单看板" in html and "Ticket board" not in html
    settings = json.loads(html.split('id="fs-i18n">')[1].split("</script>")[0])
    assert settings["locale"] == "zh-CN" and settings["timezone"] == "Asia/Shanghai"
    assert settings["messages"]["enum.ticket_status.new"] == "新建"

    switched = client.get("/lang/en?next=/stock")
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/stock")
    assert "fieldsync_lang=en" in switched.headers["Set-Cookie"]
    html = client.get("/").get_data(as_text=True)  # the test client keeps the cookie, as a browser does
    assert '<html lang="en">' in html and "Ticket board" in html and "工单看板" not in html

    assert client.get("/lang/zh?next=//evil.example/").headers["Location"] == "/"  # only back into this site
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)
    # ?lang= on any page works and is remembered too
    response = client.get("/stock?lang=en")
    assert '<html lang="en">' in response.get_data(as_text=True)
    assert "fieldsync_lang=en" in response.headers["Set-Cookie"]


def test_the_company_zone_is_a_setting(app, tmp_path):
    from tests.conftest import make_test_config

    other = create_app({**make_test_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path),
                        "COMPANY_TIMEZONE": "Europe/Berlin"})
    html = other.test_client().get("/login").get_data(as_text=True)
    assert '"timezone": "Europe/Berlin"' in html
    with pytest.raises(Exception, match="Mars"):
        create_app({**make_test_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path),
                    "COMPANY_TIMEZONE": "Mars/Olympus"})


def test_favicon(client):
    for path in ("/favicon.ico", "/static/pages/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def fieldsync_log():
    handler = _Records()
    logger = logging.getLogger("fieldsync")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def test_a_warning_at_start_while_the_secret_key_is_the_demo_default(tmp_path, fieldsync_log, monkeypatch):
    monkeypatch.delenv(DEMO_KEY_WARNED_ENV, raising=False)  # as in a fresh process
    url = f"sqlite:///{tmp_path / 'x.db'}"
    create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "a-real-secret-" + "x" * 32})
    assert not [m for m in fieldsync_log if "SECRET_KEY" in m]
    create_app({"SQLALCHEMY_DATABASE_URI": url})  # the default key
    assert len([m for m in fieldsync_log if "SECRET_KEY is the demo default" in m]) == 1
    create_app({"SQLALCHEMY_DATABASE_URI": url})  # a second app in the same process (or a forked worker)
    assert len([m for m in fieldsync_log if "SECRET_KEY is the demo default" in m]) == 1


def test_catalogue_files_are_sorted_json():
    """Kept sorted so parallel additions merge without conflicts in one place."""
    for name in i18n.LOCALES:
        text = (Path(i18n.__file__).parent / f"{name}.json").read_text(encoding="utf-8")
        assert list(json.loads(text)) == sorted(json.loads(text)), name


def test_every_error_code_reads_in_chinese_and_english():
    """Pages show error.<code> (FS.errorText): each code the server can answer has both texts."""
    import re

    root = Path(i18n.__file__).resolve().parent.parent.parent
    codes = set()
    for folder in ("server", "media", "sync"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            codes |= set(re.findall(r'code\s*=\s*"([a-z_]+)"', text)) | set(re.findall(r'"code":\s*"([a-z_]+)"', text))
    codes -= {"code", "message"}
    missing = sorted(c for c in codes if f"error.{c}" not in i18n.catalogue("zh-CN"))
    assert not missing, f"add error.<code> to server/i18n/*.json: {missing}"
