"""The one pagination scheme: keyset cursors. Walking every page sees each
record exactly once, even when records are added while walking."""

import pytest

from server.accounts.models import Role
from tests import factories as f
from tests.test_errors import assert_error


@pytest.fixture
def headers(client):
    return f.login_as(client, f.user(Role.dispatcher))


def walk(client, path: str, headers, limit: int, between_pages=None) -> list[str]:
    seen, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=headers).get_json()
        assert len(body["items"]) <= limit
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return seen
        cursor = body["next_cursor"]
        if between_pages:
            between_pages(pages)


def test_walk_all_pages_without_duplicates_or_misses(client, headers):
    # Equal names force the tie-break on id.
    ids = {str(f.customer(name="同名客户").id) for _ in range(12)} | {str(f.customer().id) for _ in range(11)}
    seen = walk(client, "/api/v1/customers", headers, limit=5)
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == ids


def test_stable_under_inserts(client, headers):
    original = {str(f.customer(name=f"客户{i:02d}").id) for i in range(20)}

    def insert(page):
        # One before the cursor, one after it: neither may disturb the walk.
        f.customer(name=f"客户00-{page}")
        f.customer(name=f"客户99-{page}")

    seen = walk(client, "/api/v1/customers", headers, limit=4, between_pages=insert)
    assert len(seen) == len(set(seen))
    assert original <= set(seen)


def test_tickets_ordered_by_on_site_deadline(client, headers):
    from datetime import timedelta

    from server.db import utcnow

    now = utcnow()
    for hours in (5, 1, 3, 1, 2):
        f.ticket(received_at=now - timedelta(hours=hours))
    body = client.get("/api/v1/tickets?limit=10", headers=headers).get_json()
    deadlines = [t["on_site_due_at"] for t in body["items"]]
    assert deadlines == sorted(deadlines)
    assert len(walk(client, "/api/v1/tickets", headers, limit=2)) == 5


@pytest.mark.parametrize("cursor", ["garbage", "W1tdXQ", "eyJhIjoxfQ", "%E2%9C%93%FF", "W1sidiIsMV1d",
                                    "W1sidiIsIngiXSxbInYiLCJ5Il1d", "W1sidiIsMV0sWyJ2IiwyXV0",
                                    "W1sidiIsICJ4Il0sIFsidiIsIHsiYSI6IDF9XV0"])
def test_invalid_cursor_is_a_422(client, headers, cursor):
    f.customer()
    body = assert_error(client.get(f"/api/v1/customers?cursor={cursor}", headers=headers), 422, "invalid_cursor")
    assert "cursor" in body["fields"]["query"]


def test_limit_is_bounded(client, headers):
    assert_error(client.get("/api/v1/customers?limit=501", headers=headers), 422, "validation_error")
    assert_error(client.get("/api/v1/customers?limit=abc", headers=headers), 422, "validation_error")
