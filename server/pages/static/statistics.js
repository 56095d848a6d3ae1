"use strict";
/* Tooltips are drawn on the canvas (renderMode richText): an HTML tooltip sets inline styles, which the CSP refuses.
   Monthly statistics: a chart of one figure across the groups, tickets by category, every figure in a
   table; a bar, a slice or a number opens the tickets behind it. ECharts is vendored (static/vendor). */
(() => {
  const API = {
    monthly: "GET /api/v1/statistics/monthly",
    behind: "GET /api/v1/statistics/monthly/tickets",
    csv: "GET /api/v1/statistics/monthly.csv",
    pdf: "GET /api/v1/statistics/monthly/report.pdf",
  };
  const { el, call, t } = FS;
  const form = document.getElementById("filters");
  const TABLE = ["tickets_received", "response_attainment", "on_site_attainment", "resolve_attainment",
                 "first_time_fix_rate", "mean_time_to_repair_hours", "repeat_visit_rate", "service_trips",
                 "service_person_days", "installation_trips", "installation_person_days", "total_cost",
                 "dispatch_overrides", "spare_unit_swaps", "van_fill_rate", "satisfaction_rate",
                 "return_visits_due", "return_visits_done"];
  let result = null;
  let units = {};
  const figureChart = echarts.init(document.getElementById("chart-figure"));
  const categoryChart = echarts.init(document.getElementById("chart-categories"));
  window.addEventListener("resize", () => { figureChart.resize(); categoryChart.resize(); });

  function shown(key, value) {
    if (value === null || value === undefined) return "—";
    const unit = units[key];
    if (unit === "rate") return (value * 100).toFixed(1) + "%";
    if (unit === "money") return "¥" + value.toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    if (unit === "hours") return FS.t("unit.hours", { n: value.toFixed(1) });
    return String(value);
  }

  /* The tickets behind a figure of a group, listed under the charts. */
  let behindCursor = null;
  let behindQuery = null;
  async function showBehind(figure, group, label, more = false) {
    const box = document.getElementById("behind");
    const list = document.getElementById("behind-list");
    const button = document.getElementById("behind-more");
    if (!more) {
      behindCursor = null;
      behindQuery = { month: form.elements.month.value, by: form.elements.by.value, figure, limit: 50 };
      if (group !== null && group !== undefined && form.elements.by.value !== "total") behindQuery.group = group;
      list.replaceChildren();
      document.getElementById("behind-title").textContent = t("statpage.behind", {
        figure: t("stat." + figure.split(".")[0]) + (figure.includes(".") && !figure.endsWith(".num")
          ? " · " + figure.split(".")[1] : ""), group: label });
    }
    try {
      const page = await call(API.behind, { query: { ...behindQuery, ...(behindCursor ? { cursor: behindCursor } : {}) } });
      list.append(...page.items.map((x) => el("tr", { dataset: { ticketId: x.id } },
        el("td", {}, el("a", { href: "/tickets/" + x.id }, x.reference)), el("td", {}, x.customer_name),
        el("td", {}, x.site_city || ""), el("td", {}, FS.label("category", x.category)),
        el("td", {}, FS.label("ticket_status", x.status)), el("td", {}, FS.fmtTime(x.received_at)))));
      if (!list.children.length) list.append(el("tr", { class: "empty" }, el("td", { colspan: 6 }, t("statpage.no_tickets"))));
      behindCursor = page.next_cursor;
      button.hidden = !page.has_more;
      box.hidden = false;
      FS.flash("");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }
  document.getElementById("behind-more").addEventListener("click", () => showBehind(null, null, null, true));

  function draw() {
    const figure = form.elements.figure.value;
    const groups = result.groups;
    const rate = units[figure] === "rate";
    figureChart.setOption({
      animation: false, // drawn at once: a bar is where it will stay when someone clicks it
      title: { text: t("stat." + figure), left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item", renderMode: "richText", position: "top", valueFormatter: (v) => shown(figure, rate ? v / 100 : v) },
      grid: { left: 60, right: 20, bottom: 60 },
      xAxis: { type: "category", data: groups.map((g) => g.label), axisLabel: { rotate: groups.length > 6 ? 40 : 0 } },
      yAxis: { type: "value", max: rate ? 100 : null, axisLabel: { formatter: rate ? "{value}%" : "{value}" } },
      series: [{ type: "bar", data: groups.map((g) => {
        const v = g.figures[figure];
        return v === null ? 0 : (rate ? Math.round(v * 1000) / 10 : v);
      }) }],
    }, true);
    const categories = {};
    for (const g of groups) for (const [k, v] of Object.entries(g.figures.tickets_by_category || {})) categories[k] = (categories[k] || 0) + v;
    categoryChart.setOption({
      animation: false,
      title: { text: t("statpage.categories"), left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item", renderMode: "richText", position: "top" },
      series: [{ type: "pie", radius: "60%", data: Object.entries(categories).map(([k, v]) => ({ name: FS.label("category", k), value: v, key: k })) }],
    }, true);
  }
  figureChart.on("click", (p) => { const g = result.groups[p.dataIndex]; showBehind(form.elements.figure.value, g.key, g.label); });
  categoryChart.on("click", (p) => showBehind("tickets_by_category." + p.data.key, null, t("statpage.by_total")));

  function table() {
    const thead = document.querySelector("#figures thead");
    const tbody = document.querySelector("#figures tbody");
    thead.replaceChildren(el("tr", {}, el("th", {}, t("stat.group")), TABLE.map((k) => el("th", { class: "num" }, t("stat." + k)))));
    tbody.replaceChildren(...result.groups.map((g) => el("tr", { dataset: { group: g.key || "" } }, el("td", {}, g.label),
      TABLE.map((k) => el("td", { class: "num" }, el("a", { href: "#behind", dataset: { figure: k },
        onclick: (event) => { event.preventDefault(); showBehind(k, g.key, g.label); } }, shown(k, g.figures[k])))))));
  }

  async function load() {
    const query = { month: form.elements.month.value, by: form.elements.by.value };
    history.replaceState(null, "", "?" + new URLSearchParams({ ...query, figure: form.elements.figure.value }));
    try {
      result = await call(API.monthly, { query });
      units = result.units;
      document.getElementById("due").textContent = t("statpage.due", { due: result.due_by })
        + (Object.keys(result.not_yet_available || {}).length
          ? " · " + t("statpage.not_available", { what: Object.values(result.not_yet_available).join("; ") }) : "");
      draw();
      table();
      document.getElementById("behind").hidden = true;
      FS.flash("");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  const params = new URLSearchParams(location.search);
  const lastMonth = (() => { const d = FS.fmtTime(new Date(), "date"); const [y, m] = d.split("-").map(Number);
    return m === 1 ? (y - 1) + "-12" : y + "-" + String(m - 1).padStart(2, "0"); })();
  form.elements.month.value = params.get("month") || lastMonth;
  if (params.get("by")) form.elements.by.value = params.get("by");
  if (params.get("figure")) form.elements.figure.value = params.get("figure");
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  form.elements.figure.addEventListener("change", () => { if (result) draw(); });
  const query = () => ({ month: form.elements.month.value, by: form.elements.by.value, lang: FS.locale });
  document.getElementById("csv").addEventListener("click", () => FS.download(API.csv, { query: query(), accept: "text/csv" })
    .catch((e) => FS.flash(FS.errorText(e))));
  document.getElementById("pdf").addEventListener("click", () => FS.download(API.pdf, { query: query(), accept: "application/pdf" })
    .catch((e) => FS.flash(FS.errorText(e))));
  load();
})();
