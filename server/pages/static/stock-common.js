"use strict";
/* Shared by the stock pages: finding stock locations and parts for the filters,
   showing them by id, and a period of whole local days for the API. */
const STOCK = (() => {
  const API = {
    locations: "GET /api/v1/locations",
    location: "GET /api/v1/locations/{id}",
    parts: "GET /api/v1/parts",
    part: "GET /api/v1/parts/{id}",
  };
  const { el, call } = FS;
  const KINDS = { central_warehouse: "一级仓库 central", regional_warehouse: "二级仓库 regional",
                  service_station: "服务站点 station", van: "车辆 van" };
  const DEPOT_KINDS = ["central_warehouse", "regional_warehouse", "service_station"];
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  let depotsPromise = null;
  const placeCache = new Map();
  const partCache = new Map();

  /* Warehouses and service stations: a few dozen, loaded once. Vans (one per
     technician, so possibly many thousands) are searched and looked up one by one. */
  function depots() {
    if (!depotsPromise) {
      depotsPromise = (async () => {
        const all = [];
        let cursor = null;
        do {
          const query = new URLSearchParams({ limit: 500 });
          for (const kind of DEPOT_KINDS) query.append("kind", kind);
          if (cursor) query.set("cursor", cursor);
          const page = await call(API.locations, { query });
          all.push(...page.items);
          cursor = page.has_more ? page.next_cursor : null;
        } while (cursor && all.length < 5000);
        for (const l of all) placeCache.set(l.id, Promise.resolve(l));
        return all;
      })();
    }
    return depotsPromise;
  }

  /* A location by id (cached); null when it cannot be read. */
  async function place(locationId) {
    await depots().catch(() => null);
    if (!placeCache.has(locationId)) {
      placeCache.set(locationId, call(API.location, { params: { id: locationId } }).catch(() => null));
    }
    return placeCache.get(locationId);
  }

  /* A cell that shows a location's code and name once known. */
  function placeCell(locationId) {
    const td = el("td", {}, locationId.slice(0, 8));
    place(locationId).then((l) => { if (l) td.replaceChildren(l.code, el("div", { class: "small" }, l.name)); });
    return td;
  }

  /* A location typed by code or name, with suggestions: warehouses and stations at once, vans as typed. */
  function locationPicker(input, datalist) {
    let timer = null;
    let seen = [];
    const option = (l) => el("option", { value: l.code }, l.name + " · " + (KINDS[l.kind] || l.kind));
    depots().then((all) => { seen = all; datalist.replaceChildren(...all.map(option)); }, () => {});
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const q = input.value.trim();
      if (q.length < 2) return;
      timer = setTimeout(async () => {
        try {
          const page = await call(API.locations, { query: { q, limit: 20 } });
          seen = page.items.concat(seen.filter((l) => !page.items.some((x) => x.id === l.id)));
          datalist.replaceChildren(...page.items.map(option));
        } catch (e) { /* suggestions only */ }
      }, 250);
    });
    return {
      /* Show a location given by id (from a link) as its code. */
      async show(value) {
        if (!value || !UUID.test(value)) return;
        const l = await place(value);
        if (l) input.value = l.code;
      },
      /* The location meant, or null when the field is empty; an error names the choices. */
      async resolve() {
        const wanted = input.value.trim();
        if (!wanted) return null;
        const same = (l) => l.code.toLowerCase() === wanted.toLowerCase();
        const known = seen.find(same);
        if (known) return known;
        const page = await call(API.locations, { query: { q: wanted, limit: 20 } });
        const exact = page.items.find(same);
        if (exact) return exact;
        if (page.items.length === 1) return page.items[0];
        if (!page.items.length) throw new Error("没有此地点 No stock location matches “" + wanted + "”.");
        throw new Error("多个地点匹配 Several locations match “" + wanted + "”: "
          + page.items.slice(0, 8).map((l) => l.code).join(", ") + (page.has_more ? ", …" : "") + ".");
      },
    };
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

  return { KINDS, depots, place, placeCell, locationPicker, findPart, suggestParts, partNumber, partCell, period,
           defaultDays, ymd, restore, remember, num, canWrite };
})();
