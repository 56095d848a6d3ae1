"use strict";
/* Stock levels per location and part, each with its latest ledger movements on demand. */
(() => {
  const API = {
    levels: "GET /api/v1/stock/levels",
    movements: "GET /api/v1/stock/movements",
  };
  const { el, call } = FS;
  const { num } = STOCK;
  const form = document.getElementById("filters");
  const tbody = document.querySelector("#levels tbody");
  const more = document.getElementById("more");
  const picker = STOCK.locationPicker(form.elements.location, document.getElementById("location-list"));
  let base = null;
  let cursor = null;

  function movements(level, cell) {
    const button = el("button", { type: "button", class: "secondary", onclick: async () => {
      button.disabled = true;
      try {
        const page = await call(API.movements, { query: { location_id: level.location_id, part_id: level.part_id,
                                                          limit: 20 } });
        cell.replaceChildren(el("table", { class: "grid" },
          el("thead", {}, el("tr", {}, ["field.time", "stock.kind", "field.quantity", "stock.condition", "field.reason"]
            .map((h) => el("th", {}, FS.t(h))))),
          el("tbody", {}, page.items.map((m) => el("tr", {}, el("td", {}, FS.fmtTime(m.at)), el("td", {}, FS.label("movement_kind", m.kind)),
            num(m.quantity), el("td", {}, FS.label("stock_condition", m.condition)), el("td", {}, m.reason || m.note || m.source || ""))))),
          page.has_more ? el("p", { class: "small" }, FS.t("stock.latest_20")) : null);
      } catch (e) { FS.flash(FS.errorText(e)); button.disabled = false; }
    } }, FS.t("stock.show"));
    return button;
  }

  function row(level) {
    const ledger = el("td", {});
    ledger.append(movements(level, ledger));
    return el("tr", { class: level.on_hand < 0 ? "escalated" : null }, STOCK.placeCell(level.location_id),
      el("td", {}, level.part_number || "—", el("div", { class: "small" }, level.part_name || "")),
      num(level.on_hand), num(level.reserved), num(level.available), num(level.in_transit),
      num(level.defective), num(level.awaiting_inspection), ledger);
  }

  async function load(reset) {
    try {
      if (reset) {
        cursor = null;
        tbody.replaceChildren();
        base = {};
        const place = await picker.resolve();
        if (place) base.location_id = place.id;
        const part = await STOCK.findPart(form.elements.part.value);
        if (part) base.part_id = part.id;
        if (!base.location_id && !base.part_id) {
          tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 9 }, FS.t("stock.choose"))));
          more.hidden = true;
          FS.flash("");
          return;
        }
      }
      const page = await call(API.levels, { query: { ...base, limit: 100, ...(cursor ? { cursor } : {}) } });
      tbody.append(...page.items.map(row));
      if (!tbody.children.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 9 }, FS.t("stock.empty"))));
      cursor = page.next_cursor;
      more.hidden = !page.has_more;
      FS.flash("");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  (async () => {
    STOCK.suggestParts(form.elements.part, document.getElementById("part-list"));
    STOCK.restore(form);
    try { await picker.show(form.elements.location.value); } catch (e) { FS.flash(FS.errorText(e)); }
    more.addEventListener("click", () => load(false));
    form.addEventListener("submit", (event) => { event.preventDefault(); STOCK.remember(form); load(true); });
    load(true);
  })();
})();
