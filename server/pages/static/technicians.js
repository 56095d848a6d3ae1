"use strict";
(() => {
  const { el } = FS;
  const DAYS = [0, 1, 2, 3, 4, 5, 6].map((d) => FS.t("weekday." + d));
  const form = document.getElementById("filters");

  function shifts(slots) {
    return slots.map((s) => DAYS[s.weekday] + " " + s.starts.slice(0, 5) + "–" + s.ends.slice(0, 5)).join(", ");
  }

  const list = FS.pager({
    tbody: document.querySelector("#technicians tbody"), more: document.getElementById("more"),
    load: (cursor) => FS.api("/api/v1/technicians?" + FS.formQuery(form, { limit: 50, cursor })),
    render: (t) => el("tr", { class: t.active ? null : "inactive" },
      el("td", {}, t.name), el("td", {}, t.username), el("td", {}, t.phone || ""),
      el("td", {}, t.certifications.map((c) => el("span", { class: "cert " + (c.valid ? "valid" : "expired"),
        title: FS.fmtTime(c.certified_on, "date") + " → " + FS.fmtTime(c.expires_on, "date") }, FS.label("product_line", c.product_line)))),
      el("td", { class: "small" }, shifts(t.shifts)), el("td", {}, String(t.max_open_jobs)),
      el("td", {}, t.last_position_at ? FS.fmtTime(t.last_position_at) : "—")),
    empty: FS.t("app.nothing"),
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); list.reload(); });
  list.reload();
})();
