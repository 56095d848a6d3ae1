/* FieldSync pages: shared helpers. Plain JS, no build step, no CDN.
   The bearer token lives in sessionStorage (gone when the tab closes). */
"use strict";

const FS = (() => {
  const KEY = "fieldsync.auth";

  function auth() {
    try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch (e) { return null; }
  }
  function saveAuth(value) { sessionStorage.setItem(KEY, JSON.stringify(value)); }
  function clearAuth() { sessionStorage.removeItem(KEY); }

  function toLogin() {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign("/login?next=" + next);
  }

  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super(err.message || ("HTTP " + status));
      this.status = status;
      this.code = err.code;
      this.fields = err.fields;
      this.details = err.details || {};
      this.requestId = err.request_id;
    }
  }

  /* Call the JSON API; a 401 sends the user to the login page. */
  async function api(path, options = {}) {
    const headers = { "Accept": "application/json" };
    const a = auth();
    if (a && a.token) headers["Authorization"] = "Bearer " + a.token;
    const init = { method: options.method || "GET", headers };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(path, init);
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.status === 401 && !options.noRedirect) { clearAuth(); toLogin(); }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  /* An endpoint is declared once per script as "METHOD /api/v1/path/{name}" (tests check each one
     against the server's routes); call() fills the {names}, adds the query and sends it. */
  function endpoint(spec, params = {}, query = null) {
    const [method, template] = spec.split(" ");
    const path = template.replace(/\{(\w+)\}/g, (_, name) => {
      if (params[name] === undefined || params[name] === null) throw new Error("missing " + name + " for " + spec);
      return encodeURIComponent(params[name]);
    });
    const qs = query ? new URLSearchParams(query).toString() : "";
    return { method, url: qs ? path + "?" + qs : path };
  }

  function call(spec, { params, query, body, noRedirect } = {}) {
    const { method, url } = endpoint(spec, params, query);
    return api(url, { method, body, noRedirect });
  }

  /* Download a file the API makes (a link cannot send the bearer token): fetch, then save the blob. */
  async function download(spec, { params, query, accept, filename } = {}) {
    const { method, url } = endpoint(spec, params, query);
    const headers = { "Accept": accept || "*/*" };
    const a = auth();
    if (a && a.token) headers["Authorization"] = "Bearer " + a.token;
    const response = await fetch(url, { method, headers });
    if (response.status === 401) { clearAuth(); toLogin(); }
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    const disposition = response.headers.get("Content-Disposition") || "";
    const named = /filename="?([^";]+)"?/.exec(disposition);
    const href = URL.createObjectURL(await response.blob());
    const link = el("a", { href, download: (named && named[1]) || filename || "download" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 10000);
  }

  /* An error for people, in the page's language: in Chinese the catalogue's text for its code (error.<code>),
     in English the server's own (more specific) message; each field's complaint, the reasons a 409 gives
     (labelled), and the code for support. */
  function errorText(e) {
    if (!(e instanceof ApiError)) return String(e && e.message || e);
    const known = e.code && SETTINGS.messages["error." + e.code];
    const parts = [(locale === "en" ? e.message || known : known || e.message)];
    const walk = (value, prefix) => {
      if (Array.isArray(value)) { parts.push(prefix + ": " + value.join(" ")); return; }
      if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, prefix ? prefix + "." + k : k);
    };
    for (const where of Object.values(e.fields || {})) walk(where, "");
    for (const r of (e.details.reasons || [])) {
      const text = SETTINGS.messages["enum.unavailable_reason." + r.code];
      parts.push("• " + (text || r.message || r.code));
    }
    if (e.code) parts.push("(" + e.status + " " + e.code + (e.requestId ? ", " + t("app.request") + " " + e.requestId : "") + ")");
    return parts.join("\n");
  }

  /* el("td", {class: "x"}, "text", childNode): text is always text, never HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function flash(message, kind = "error") {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message || "";
    box.className = "flash " + kind;
    box.hidden = !message;
  }

  /* Language and time (CONTRIBUTING.md, "Language and time"): the page embeds its locale, the company's
     time zone and the catalogue (server/i18n/<locale>.json) as a JSON data block; t() and label() read it. */
  const SETTINGS = (() => {
    const node = document.getElementById("fs-i18n");
    try { return JSON.parse(node.textContent); } catch (e) { return { locale: "zh-CN", timezone: "Asia/Shanghai", messages: {} }; }
  })();
  const locale = SETTINGS.locale;

  /* t("board.title") or t("clock.left", {d: "3 h"}): the text in the page's language, the key itself if missing. */
  function t(key, values) {
    const text = SETTINGS.messages[key];
    if (text === undefined) return key;
    return values ? text.replace(/\{(\w+)\}/g, (m, name) => (values[name] === undefined ? m : String(values[name]))) : text;
  }
  /* label("ticket_status", "on_site") -> 在现场 / On site; the raw value if the catalogue has none. */
  function label(kind, value) {
    if (value === null || value === undefined || value === "") return "—";
    const text = SETTINGS.messages["enum." + kind + "." + value];
    return text === undefined ? String(value) : text;
  }

  /* A ticket history note in the page's language (server/tickets/history.py): a note the server wrote is
     history.<note_key> filled with its values (lists of codes by their labels, nested notes written out);
     a person's words, or a note from before, as stored. */
  const LABELLED = { flags: "enum.unavailable_reason.", clocks: "clock." };
  function historyNote(e) {
    if (!e.note_key) return e.note || "";
    const written = (key, params) => {
      const text = SETTINGS.messages["history." + key];
      if (text === undefined) throw new Error("unknown history note " + key);
      const values = {};
      for (const [name, v] of Object.entries(params || {})) {
        if (Array.isArray(v)) {
          values[name] = v.map((x) => SETTINGS.messages[(LABELLED[name] || "-") + x] || String(x))
            .join(locale === "en" ? ", " : "、");
        } else values[name] = v && typeof v === "object" ? written(v.key, v.params) : v;
      }
      return text.replace(/\{(\w+)\}/g, (m, name) => (values[name] === undefined ? m : String(values[name])));
    };
    try { return written(e.note_key, e.note_params); } catch (err) { return e.note || ""; }
  }

  const FORMATS = { datetime: ["Y", "-", "M", "-", "D", " ", "h", ":", "m"], short: ["M", "-", "D", " ", "h", ":", "m"],
                    seconds: ["Y", "-", "M", "-", "D", " ", "h", ":", "m", ":", "s"], date: ["Y", "-", "M", "-", "D"],
                    time: ["h", ":", "m"] };
  const zoneParts = new Intl.DateTimeFormat("en-GB", { timeZone: SETTINGS.timezone, hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const PART = { year: "Y", month: "M", day: "D", hour: "h", minute: "m", second: "s" };

  /* A time in the company's zone, as the server's `localtime` filter writes it: "2026-12-06 11:36".
     style: datetime (default), short (no year), seconds, date, time. A plain date stays as it is. */
  function fmtTime(iso, style = "datetime") {
    if (!iso) return "—";
    if (typeof iso === "string" && /^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
    const d = iso instanceof Date ? iso : new Date(iso);
    if (isNaN(d)) return String(iso);
    const parts = {};
    for (const p of zoneParts.formatToParts(d)) if (PART[p.type]) parts[PART[p.type]] = p.value;
    return FORMATS[style].map((x) => (x in parts ? parts[x] : x)).join("");
  }

  /* A wall-clock time in the company's zone ("2026-12-06T09:30", as a datetime-local input gives it) -> the
     instant (a Date). The zone's offset is read at that very moment, so a zone with daylight saving is right
     on either side of its change; the browser's own zone plays no part. */
  function zonedInstant(value) {
    const [day, time = "00:00"] = value.split("T");
    const [y, m, d] = day.split("-").map(Number);
    const [hh, mi] = time.split(":").map(Number);
    const wall = Date.UTC(y, m - 1, d, hh, mi);
    const offsetAt = (instant) => {
      const [date, clock] = fmtTime(new Date(instant), "seconds").split(" ");
      const [sy, sm, sd] = date.split("-").map(Number);
      const [sh, smi, ss] = clock.split(":").map(Number);
      return Date.UTC(sy, sm - 1, sd, sh, smi, ss) - instant;
    };
    const first = wall - offsetAt(wall);
    return new Date(wall - offsetAt(first));  // a second look: the offset where the answer lies
  }

  /* The instant a day ("2026-12-06") starts in the company's zone (a Date). */
  function zoneMidnight(day) { return zonedInstant(day + "T00:00"); }

  function fmtDuration(ms) {
    const minutes = Math.round(Math.abs(ms) / 60000);
    const h = Math.floor(minutes / 60), m = minutes % 60;
    if (h >= 48) return t("unit.d", { n: Math.round(h / 24) });
    return h ? t("unit.h_m", { h, m: String(m).padStart(2, "0") }) : t("unit.m", { n: m });
  }

  /* One SLA clock: time left, or by how much it was missed, or met. */
  function clock(due, done, now = Date.now()) {
    const dueAt = Date.parse(due);
    if (done) {
      const doneAt = Date.parse(done);
      return doneAt <= dueAt ? { cls: "met", text: t("clock.met") }
                             : { cls: "breached", text: t("clock.late_by", { d: fmtDuration(doneAt - dueAt) }) };
    }
    const left = dueAt - now;
    if (left < 0) return { cls: "breached", text: t("clock.overdue", { d: fmtDuration(left) }) };
    return { cls: left < 3600000 ? "soon" : "ok", text: t("clock.left", { d: fmtDuration(left) }) };
  }

  function clockCell(due, done) {
    const c = clock(due, done);
    return el("td", { class: "clock " + c.cls, title: t("clock.due", { t: fmtTime(due) }) }, c.text);
  }

  /* A list with keyset pagination: load(cursor) returns a page; render(item) a <tr>. */
  function pager({ tbody, more, load, render, empty = t("app.nothing") }) {
    let cursor = null;
    async function next(reset) {
      if (reset) { cursor = null; tbody.replaceChildren(); }
      try {
        const page = await load(cursor);
        for (const item of page.items) tbody.append(render(item));
        if (!tbody.children.length) {
          const cols = tbody.closest("table").querySelectorAll("thead th").length || 1;
          tbody.append(el("tr", { class: "empty" }, el("td", { colspan: cols }, empty)));
        }
        cursor = page.next_cursor;
        more.hidden = !page.has_more;
        flash("");
      } catch (e) { flash(errorText(e)); }
    }
    more.addEventListener("click", () => next(false));
    return { reload: () => next(true) };
  }

  /* The query string of a filter form, without empty fields. */
  function formQuery(form, extra = {}) {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value !== "") params.append(name, value);
    for (const [name, value] of Object.entries(extra)) if (value !== null && value !== undefined) params.set(name, value);
    return params;
  }

  function init() {
    const page = document.body.dataset.page;
    const a = auth();
    if (page !== "login") {
      if (!a) { toLogin(); return; }
      for (const link of document.querySelectorAll("#nav a[data-roles]")) {  // entries this role cannot use
        if (!link.dataset.roles.split(" ").includes(a.role)) link.hidden = true;
      }
      const who = document.getElementById("whoami");
      if (who) who.textContent = a.username + " (" + label("role", a.role) + ")";
      const logout = document.getElementById("logout");
      if (logout) logout.addEventListener("click", async () => {
        try { await api("/api/v1/auth/token", { method: "DELETE", noRedirect: true }); } catch (e) { /* gone anyway */ }
        clearAuth();
        location.assign("/login");
      });
    }
  }

  document.addEventListener("DOMContentLoaded", init);
  return { api, auth, saveAuth, clearAuth, el, flash, fmtTime, fmtDuration, clock, clockCell, pager, formQuery,
           ApiError, endpoint, call, download, errorText, t, label, locale, zoneMidnight, zonedInstant, historyNote };
})();
