"use strict";
/* All locations' reconciliation side by side, each linking to its full report. */
(() => {
  const API = {
    summary: "GET /api/v1/stock/reconciliation/summary",
  };
  const { el, call } = FS;
  const { num } = STOCK;
  const form = document.getElementById("filters");
  const FIGURES = ["received", "transferred_in", "transferred_out", "issued_in", "issued_out", "consumed",
                   "returned_in", "returned_out", "returned_defective", "adjusted", "discrepancies",
                   "discrepancy_quantity"];
  const money = (v) => el("td", { class: "num" }, v === null || v === undefined ? "—" : v.toFixed(2));

  function reportLink(locationId, text) {
    const q = new URLSearchParams({ location: locationId, from: form.elements.from.value, to: form.elements.to.value });
    return el("a", { href: "/stock/reconciliation?" + q }, text);
  }

  function render(s) {
    const tbody = document.querySelector("#summary tbody");
    tbody.replaceChildren(...s.locations.map((l) => el("tr", { class: l.open_discrepancies ? "escalated" : null },
      el("td", {}, reportLink(l.location_id, l.code), el("div", { class: "small" }, l.name)),
      el("td", {}, STOCK.KINDS[l.kind] || l.kind), ...FIGURES.map((f) => num(l[f])), money(l.discrepancy_value),
      num(l.open_discrepancies))));
    if (!s.locations.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 16 }, FS.t("summary.no_movements"))));
    const largest = document.querySelector("#largest tbody");
    largest.replaceChildren(...s.largest.map((d) => el("tr", {}, el("td", {}, FS.fmtTime(d.detected_at)),
      el("td", {}, reportLink(d.location_id, d.location_code || "…")), el("td", {}, FS.label("discrepancy_kind", d.kind)),
      el("td", {}, d.part_number || "—"), num(d.quantity), money(d.value),
      el("td", {}, el("span", { class: "pill " + d.status }, FS.label("discrepancy_status", d.status))))));
    if (!s.largest.length) largest.append(el("tr", { class: "empty" }, el("td", { colspan: 7 }, FS.t("disc.empty"))));
  }

  async function load() {
    try {
      render(await call(API.summary, { query: { ...STOCK.period(form.elements.from.value, form.elements.to.value),
                                                limit: 200 } }));
      FS.flash("");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  const days = STOCK.defaultDays();
  form.elements.from.value = days.from;
  form.elements.to.value = days.to;
  STOCK.restore(form);
  form.addEventListener("submit", (event) => { event.preventDefault(); STOCK.remember(form); load(); });
  load();
})();
