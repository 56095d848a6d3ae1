"""Names and addresses in any script, Chinese and emoji included, come back
exactly as they were sent, and can be searched for."""

from server.accounts.models import Role
from tests import factories as f

NAME = "上海华东制冷设备有限公司 🧊❄️"
ADDRESS = "上海市浦东新区张江高科技园区碧波路690号 (B栋 3楼) 📍"
CONTACT = "欧阳娜娜 👩‍🔧"


def test_customer_site_round_trip(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    r = client.post("/api/v1/customers", json={"name": NAME, "contact_name": CONTACT, "address": ADDRESS},
                    headers=headers)
    assert r.status_code == 201
    customer = client.get(f"/api/v1/customers/{r.get_json()['id']}", headers=headers).get_json()
    assert (customer["name"], customer["contact_name"], customer["address"]) == (NAME, CONTACT, ADDRESS)

    site = client.post("/api/v1/sites", json={"customer_id": customer["id"], "name": "冷库 ❄️", "address": ADDRESS,
                                              "city": "上海"}, headers=headers).get_json()
    assert client.get(f"/api/v1/sites/{site['id']}", headers=headers).get_json()["address"] == ADDRESS
    assert [c["name"] for c in client.get("/api/v1/customers?q=华东制冷", headers=headers).get_json()["items"]] \
        == [NAME]
    assert len(client.get("/api/v1/customers?q=🧊", headers=headers).get_json()["items"]) == 1
    assert len(client.get("/api/v1/sites?city=上海", headers=headers).get_json()["items"]) == 1


def test_ticket_and_technician_round_trip(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    site = f.site(f.customer(name=NAME), address=ADDRESS)
    summary = "机组不制冷 🔥 出水温度 12℃ → 18℃"
    r = client.post("/api/v1/tickets", json={"customer_id": str(site.customer_id), "site_id": str(site.id),
                                             "channel": "phone", "category": "repair", "summary": summary,
                                             "description": "客户说：“昨天开始的”。"}, headers=headers)
    assert r.status_code == 201, r.get_json()
    ticket = client.get(f"/api/v1/tickets/{r.get_json()['id']}", headers=headers).get_json()
    assert ticket["summary"] == summary and ticket["description"] == "客户说：“昨天开始的”。"
    assert client.get("/api/v1/tickets?q=不制冷", headers=headers).get_json()["items"][0]["id"] == ticket["id"]

    tech = f.technician(name="司马光 🛠️")
    assert client.get(f"/api/v1/technicians/{tech.id}", headers=headers).get_json()["name"] == "司马光 🛠️"


def test_json_is_sent_as_utf8_not_escapes(client):
    headers = f.login_as(client, f.user(Role.dispatcher))
    f.customer(name=NAME)
    r = client.get("/api/v1/customers", headers=headers)
    assert r.mimetype == "application/json"
    assert NAME.encode() in r.data
