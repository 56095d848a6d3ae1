"use strict";
/* Warehouse work through the existing stock API: receive (then inspect), transfer (plan, ship, receive,
   cancel) and count (open, record, close). Locations and parts are typed by code, shown with names. */
(() => {
  const API = {
    receipts: "POST /api/v1/stock/receipts",
    inspection: "POST /api/v1/stock/receipts/{id}/inspection",
    transfers: "GET /api/v1/stock/transfers",
    plan: "POST /api/v1/stock/transfers",
    ship: "POST /api/v1/stock/transfers/{id}/ship",
    receive: "POST /api/v1/stock/transfers/{id}/receive",
    cancel: "POST /api/v1/stock/transfers/{id}/cancel",
    openCount: "POST /api/v1/stock/counts",
    countLines: "POST /api/v1/stock/counts/{id}/lines",
    closeCount: "POST /api/v1/stock/counts/{id}/close",
    cancelCount: "POST /api/v1/stock/counts/{id}/cancel",
  };
  const { el, call, t } = FS;
  const { num } = STOCK;
  const locations = document.getElementById("location-list");
  const partList = document.getElementById("part-list");

  function pickers(form, names) {
    const out = {};
    for (const name of names) out[name] = STOCK.locationPicker(form.elements[name], locations);
    return out;
  }
  async function part(form) {
    const found = await STOCK.findPart(form.elements.part.value);
    if (!found) throw new Error(t("stock.no_part", { q: form.elements.part.value }));
    return found;
  }
  function guard(fn) {
    return async (event) => {
      if (event) event.preventDefault();
      try { await fn(); } catch (e) { FS.flash(FS.errorText(e)); }
    };
  }

  /* --- receive, then inspect --- */
  const receiveForm = document.getElementById("receive-form");
  const receivePick = pickers(receiveForm, ["location"]);
  STOCK.suggestParts(receiveForm.elements.part, partList);
  receiveForm.addEventListener("submit", guard(async () => {
    const place = await receivePick.location.resolve();
    const p = await part(receiveForm);
    const quantity = Number(receiveForm.elements.quantity.value);
    const serials = receiveForm.elements.serials.value.split(",").map((s) => s.trim()).filter(Boolean);
    const receipt = await call(API.receipts, { body: {
      location_id: place.id, supplier: receiveForm.elements.supplier.value.trim() || null,
      delivery_note: receiveForm.elements.delivery_note.value.trim() || null,
      lines: [{ part_id: p.id, quantity, ...(serials.length ? { serial_numbers: serials } : {}) }] } });
    const box = document.getElementById("receipt");
    const inspect = el("button", { type: "button", id: "inspect-all", onclick: guard(async () => {
      await call(API.inspection, { params: { id: receipt.id },
                                   body: { results: receipt.lines.map((l) => ({ line_id: l.id })) } });
      inspect.disabled = true;
      FS.flash(t("work.inspected"), "ok");
    }) }, t("work.inspect_all"));
    box.replaceChildren(el("p", {}, t("work.received", { n: quantity }), " ", p.part_number, " ", p.name, " → ",
                           place.code, " · ", FS.fmtTime(receipt.received_at), " "), inspect);
    FS.flash(t("work.received", { n: quantity }), "ok");
  }));

  /* --- transfers --- */
  const transferForm = document.getElementById("transfer-form");
  const transferPick = pickers(transferForm, ["from", "to"]);
  STOCK.suggestParts(transferForm.elements.part, partList);
  const transfersBody = document.querySelector("#transfers tbody");

  function transferRow(tr) {
    const actions = el("td", {});
    const act = (spec, key, extra = {}) => el("button", { type: "button", class: key === "work.cancel" ? "secondary" : null,
      dataset: { action: key.split(".")[1] },
      onclick: guard(async () => {
        if (key === "work.cancel" && !confirm(t("work.confirm_cancel"))) return;
        await call(spec, { params: { id: tr.id }, ...extra });
        FS.flash(t("work.done"), "ok");
        loadTransfers();
      }) }, t(key));
    if (tr.status === "planned") actions.append(act(API.ship, "work.ship"), " ", act(API.cancel, "work.cancel"));
    if (tr.status === "shipped") actions.append(act(API.receive, "work.receive_transfer", { body: { lines: [] } }));
    const lines = el("td", {}, tr.lines.map((l) => {
      const line = el("div", {}, (l.part_id ? "…" : "—") + " × " + l.quantity);
      if (l.part_id) STOCK.partNumber(l.part_id).then((p) => {
        line.textContent = (p ? p.part_number + " " + p.name : "—") + " × " + l.quantity;
      });
      return line;
    }));
    return el("tr", { dataset: { transferId: tr.id } }, el("td", {}, FS.fmtTime(tr.created_at)),
      STOCK.placeCell(tr.from_location_id), STOCK.placeCell(tr.to_location_id), lines,
      el("td", {}, FS.label("transfer_status", tr.status)), actions);
  }

  async function loadTransfers() {
    try {
      const query = new URLSearchParams({ limit: 50 });
      query.append("status", "planned");
      query.append("status", "shipped");
      const page = await call(API.transfers, { query });
      transfersBody.replaceChildren(...page.items.map(transferRow));
      if (!page.items.length) transfersBody.append(el("tr", { class: "empty" }, el("td", { colspan: 6 }, t("work.empty_transfers"))));
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  transferForm.addEventListener("submit", guard(async () => {
    const from = await transferPick.from.resolve();
    const to = await transferPick.to.resolve();
    const p = await part(transferForm);
    await call(API.plan, { body: { from_location_id: from.id, to_location_id: to.id,
      note: transferForm.elements.note.value.trim() || null,
      lines: [{ part_id: p.id, quantity: Number(transferForm.elements.quantity.value) }] } });
    FS.flash(t("work.done"), "ok");
    loadTransfers();
  }));

  /* --- counts --- */
  const openForm = document.getElementById("count-open");
  const countPick = pickers(openForm, ["location"]);
  const lineForm = document.getElementById("count-line");
  STOCK.suggestParts(lineForm.elements.part, partList);
  const session = document.getElementById("count-session");
  const countBody = document.querySelector("#count-lines tbody");
  let count = null;

  function showLines(lines, differences) {
    const diff = new Map((differences || []).map((d) => [d.part_id, d]));
    countBody.replaceChildren(...lines.map((l) => {
      const d = diff.get(l.part_id);
      return el("tr", {}, STOCK.partCell(l.part_id), num(l.counted_quantity),
                num(d ? d.expected : l.expected_quantity), num(d ? d.difference : l.difference));
    }));
  }

  openForm.addEventListener("submit", guard(async () => {
    const place = await countPick.location.resolve();
    count = await call(API.openCount, { body: { location_id: place.id, full: openForm.elements.full.checked } });
    session.hidden = false;
    document.getElementById("count-title").textContent = t("work.count_started", { place: place.code + " " + place.name })
      + " · " + FS.fmtTime(count.opened_at);
    showLines(count.lines || []);
  }));
  lineForm.addEventListener("submit", guard(async () => {
    const p = await part(lineForm);
    count = await call(API.countLines, { params: { id: count.id },
      body: { lines: [{ part_id: p.id, counted_quantity: Number(lineForm.elements.counted.value) }] } });
    showLines(count.lines || []);
  }));
  document.getElementById("count-close").addEventListener("click", guard(async () => {
    const closed = await call(API.closeCount, { params: { id: count.id } });
    showLines(closed.count.lines || [], closed.differences);
    FS.flash(t("work.count_closed"), "ok");
  }));
  document.getElementById("count-cancel").addEventListener("click", guard(async () => {
    await call(API.cancelCount, { params: { id: count.id } });
    session.hidden = true;
    FS.flash(t("work.done"), "ok");
  }));

  loadTransfers();
})();
