"use strict";
/* Shared by the stock pages: stock locations and parts for the filters, part
   numbers by id, and a period of whole local days for the API. */
const STOCK = (() => {
  const API = {
    locations: "GET /api/v1/stock/locations",
    parts: "GET /api/v1/parts",
    part: "GET /api/v1/parts/{id}",
  };
  const { el, call } = FS;
  const KINDS = { central_warehouse: "一级仓库 central", regional_warehouse: "二级仓库 regional",
                  service_station: "服务站点 station", van: "车辆 van" };
  let locationsPromise = null;
  const partCache = new Map();

  /* Every stock location, by code (one or a few pages of 500). */
  function locations() {
    if (!locationsPromise) {
      locationsPromise = (async () => {
        const all = [];
        let cursor = null;
        do {
          const query = { limit: 500 };
          if (cursor) query.cursor = cursor;
          const page = await call(API.locations, { query });
          all.push(...page.items);
          cursor = page.has_more ? page.next_cursor : null;
        } while (cursor);
        return all;
      })();
    }
    return locationsPromise;
  }

  async function locationMap() {
    return new Map((await locations()).map((l) => [l.id, l]));
  }

  /* Fill a <select> with the locations, grouped by kind; keeps the current choice. */
  async function fillLocations(select, { empty = null, value = null } = {}) {
    const all = await locations();
    const groups = {};
    for (const l of all) (groups[l.kind] = groups[l.kind] || []).push(l);
    const children = empty === null ? [] : [el("option", { value: "" }, empty)];
    for (const kind of Object.keys(KINDS)) {
      if (!groups[kind]) continue;
      children.push(el("optgroup", { label: KINDS[kind] }, groups[kind].map((l) =>
        el("option", { value: l.id }, l.code + " · " + l.name))));
    }
    select.replaceChildren(...children);
    if (value) select.value = value;
  }

  /* A part from what someone typed: its exact number, else the only match; several: say which. */
  async function findPart(text) {
    const wanted = text.trim();
    if (!wanted) return null;
    const page = await call(API.parts, { query: { q: wanted, limit: 20 } });
    const exact = page.items.find((p) => p.part_number.toLowerCase() === wanted.toLowerCase());
    if (exact) return exact;
    if (page.items.length === 1) return page.items[0];
    if (!page.items.length) throw new Error("没有此备件 No part matches “" + wanted + "”.");
    throw new Error("多个备件匹配 Several parts match “" + wanted + "”: "
      + page.items.slice(0, 8).map((p) => p.part_number).join(", ") + (page.has_more ? ", …" : "") + ".");
  }

  /* Suggestions for a part input, from what is typed so far. */
  function suggestParts(input, datalist) {
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const q = input.value.trim();
      if (q.length < 2) return;
      timer = setTimeout(async () => {
        try {
          const page = await call(API.parts, { query: { q, limit: 20 } });
          datalist.replaceChildren(...page.items.map((p) => el("option", { value: p.part_number }, p.name)));
        } catch (e) { /* suggestions only */ }
      }, 250);
    });
  }

  function partNumber(partId) {
    if (!partId) return Promise.resolve("—");
    if (!partCache.has(partId)) {
      partCache.set(partId, call(API.part, { params: { id: partId } }).then((p) => p.part_number,
                                                                             () => partId.slice(0, 8)));
    }
    return partCache.get(partId);
  }

  /* A cell that shows a part number once it is known. */
  function partCell(partId, known) {
    const td = el("td", {}, known || "…");
    if (!known) partNumber(partId).then((n) => { td.textContent = n; });
    return td;
  }

  function ymd(date) {
    return date.getFullYear() + "-" + String(date.getMonth() + 1).padStart(2, "0") + "-"
      + String(date.getDate()).padStart(2, "0");
  }

  /* Whole local days [from 00:00, the day after "to" 00:00) as the API's aware times. */
  function period(fromDay, toDay) {
    const [fy, fm, fd] = fromDay.split("-").map(Number);
    const [ty, tm, td] = toDay.split("-").map(Number);
    const start = new Date(fy, fm - 1, fd), end = new Date(ty, tm - 1, td + 1);
    if (!(start < end)) throw new Error("起始日期须早于结束日期 The period must start before it ends.");
    return { from: start.toISOString(), to: end.toISOString() };
  }

  /* Default period: this month so far. */
  function defaultDays() {
    const now = new Date();
    return { from: ymd(new Date(now.getFullYear(), now.getMonth(), 1)), to: ymd(now) };
  }

  /* Form fields from the page's query string, so a filtered view can be linked to. */
  function restore(form) {
    for (const [name, value] of new URLSearchParams(location.search)) {
      const field = form.elements[name];
      if (field && field.type === "checkbox") field.checked = value === "true";
      else if (field) field.value = value;
    }
  }

  function remember(form) {
    history.replaceState(null, "", "?" + FS.formQuery(form));
  }

  const num = (value, { negative = true } = {}) => el("td", { class: "num" + (negative && value < 0 ? " neg" : "") },
    value === null || value === undefined ? "—" : String(value));

  const canWrite = () => ["admin", "warehouse"].includes((FS.auth() || {}).role);

  return { KINDS, locations, locationMap, fillLocations, findPart, suggestParts, partNumber, partCell, period,
           defaultDays, ymd, restore, remember, num, canWrite };
})();
