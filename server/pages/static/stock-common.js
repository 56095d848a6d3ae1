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
  const KINDS = new Proxy({}, { get: (_, kind) => FS.label("location_kind", kind) });  // labels: server/i18n
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
    const td = el("td", {}, "…");
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
        if (!page.items.length) throw new Error(FS.t("stock.no_location", { q: wanted }));
        throw new Error(FS.t("stock.several_locations", { q: wanted,
          list: page.items.slice(0, 8).map((l) => l.code).join(", ") + (page.has_more ? ", …" : "") }));
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
    if (!page.items.length) throw new Error(FS.t("stock.no_part", { q: wanted }));
    throw new Error(FS.t("stock.several_parts", { q: wanted,
      list: page.items.slice(0, 8).map((p) => p.part_number).join(", ") + (page.has_more ? ", …" : "") }));
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
      partCache.set(partId, call(API.part, { params: { id: partId } }).then((p) => p, () => null));
    }
    return partCache.get(partId);
  }

  /* A cell that shows a part's number, and its name under it, once known. */
  function partCell(partId, known, name) {
    const td = el("td", {}, known || "…", name ? el("div", { class: "small" }, name) : null);
    if (!partId) { td.textContent = known || "—"; return td; }
    if (!known || !name) {
      partNumber(partId).then((p) => {
        td.replaceChildren(p ? p.part_number : (known || "—"), p ? el("div", { class: "small" }, p.name) : "");
      });
    }
    return td;
  }

  function ymd(date, utc = false) {
    const [y, m, d] = utc ? [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()]
                          : [date.getFullYear(), date.getMonth(), date.getDate()];
    return y + "-" + String(m + 1).padStart(2, "0") + "-" + String(d).padStart(2, "0");
  }

  /* Whole days in the company's zone [from 00:00, the day after "to" 00:00) as the API's aware times. */
  function period(fromDay, toDay) {
    const [ty, tm, td] = toDay.split("-").map(Number);
    const start = FS.zoneMidnight(fromDay), end = FS.zoneMidnight(ymd(new Date(Date.UTC(ty, tm - 1, td + 1)), true));
    if (!(start < end)) throw new Error(FS.t("stock.bad_period"));
    return { from: start.toISOString(), to: end.toISOString() };
  }

  /* Default period: this month so far, in the company's zone. */
  function defaultDays() {
    const today = FS.fmtTime(new Date(), "date");
    return { from: today.slice(0, 8) + "01", to: today };
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
