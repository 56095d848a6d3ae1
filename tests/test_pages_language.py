"""Office pages in both languages (Flask test client): every fixed text comes
from the catalogue, so a page in English holds no Chinese and a page in Chinese
holds no English words (the old "中文 English" side-by-side headings are gone)."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

from server.pages import PAGES, bp

STATIC = Path(bp.static_folder)

CJK = re.compile(r"[\u4e00-\u9fff]+")
WORD = re.compile(r"[A-Za-z]{3,}")
# Words allowed in a Chinese page: names, not sentences — the product, formats and protocols, a config
# setting, a header, the demo's sign-in (dispatcher / fieldsync-demo), codes typed as they are (a product line,
# webhook event kinds).
LATIN_OK = {"FieldSync", "fieldsync", "demo", "dispatcher", "CSV", "PDF", "API", "URL", "HMAC", "SHA", "ERP", "CRM",
            "Signature", "MAP", "TILE", "English", "Webhook", "https", "chiller", "ticket", "job", "rating", "bad"}
CJK_OK = {"中文", "三包"}  # the switch's own name; the legal term the English text keeps in brackets


class _Readable(HTMLParser):
    """What a person reads: text outside scripts and styles, and the tooltips, placeholders and labels."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [v for k, v in attrs if k in ("placeholder", "title", "aria-label") and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def readable(html: str) -> str:
    parser = _Readable()
    parser.feed(html)
    return "\n".join(parser.parts)


def page_paths():
    ids = {"ticket_id": uuid.uuid4(), "customer_id": uuid.uuid4()}
    for page in PAGES:
        yield re.sub(r"<uuid:(\w+)>", lambda m: str(ids[m.group(1)]), page.rule)


@pytest.mark.parametrize("path", list(page_paths()))
def test_every_page_reads_in_one_language(client, path):
    zh = readable(client.get(path + "?lang=zh-CN").get_data(as_text=True))
    en = readable(client.get(path + "?lang=en").get_data(as_text=True))
    assert set(CJK.findall(en)) <= CJK_OK, (path, set(CJK.findall(en)) - CJK_OK)
    assert set(WORD.findall(zh)) <= LATIN_OK, (path, set(WORD.findall(zh)) - LATIN_OK)


# The pages whose headings were "中文 English" side by side: a text of each language, and the other's is absent.
CONVERTED = {
    "/conflicts": (["手持终端与办公室改了同一字段", "待处理", "更多"],
                   ["When a handheld and the office", "Open", "Load more"]),
    "/swaps": (["调换时限", "备用机", "刷新"], ["swap threshold", "Spare units", "Refresh"]),
    "/technicians": (["最多在办任务", "资质产品线", "在职"], ["Max open jobs", "Certified for", "Active"]),
    "/customers": (["联系人", "地址", "筛选"], ["Contact", "Address", "Filter"]),
    "/stock/reconciliation": (["故障退回", "按备件", "工单耗用"], ["Defective", "Per part", "Used on jobs"]),
    "/stock/summary": (["最大差异", "差异金额", "汇总"], ["Largest discrepancies", "Value", "Summarise"]),
    "/tickets/{id}/dispatch": (["候选技术人员", "已排除（最近的）", "备用机调换", "返回工单"],
                               ["Candidates", "Filtered out (nearest)", "Spare-unit swap", "Back to the ticket"]),
}


@pytest.mark.parametrize("rule", sorted(CONVERTED))
def test_converted_pages_switch_language(client, rule):
    path = rule.format(id=uuid.uuid4())
    chinese, english = CONVERTED[rule]
    zh = readable(client.get(path + "?lang=zh-CN").get_data(as_text=True))
    en = readable(client.get(path + "?lang=en").get_data(as_text=True))
    for text in chinese:
        assert text in zh and text not in en, (path, text)
    for text in english:
        assert text in en and text not in zh, (path, text)


def test_labels_of_constant_values_follow_each_request_language(client):
    """A template's `"open" | label(...)` is not folded into the compiled template in its first request's language."""
    for path, chinese in (("/conflicts", ">待处理<"), ("/stock/discrepancies", ">未处理<")):
        for lang, text in (("zh-CN", chinese), ("en", ">Open<"), ("zh-CN", chinese)):
            assert text in client.get(f"{path}?lang={lang}").get_data(as_text=True), (path, lang)


STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`(?:[^`\\]|\\.)*`')
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


@pytest.mark.parametrize("script", sorted(p.name for p in STATIC.glob("*.js")))
def test_page_scripts_hold_no_chinese_text(script):
    """Every text a page script shows comes from the catalogue (FS.t / FS.label): no string literal holds
    Chinese (it would be there in English too), as the old "中文 English" labels did."""
    source = COMMENT.sub("", (STATIC / script).read_text(encoding="utf-8"))
    found = [s for s in STRING.findall(source) if CJK.search(s)]
    assert not found, (script, found)
