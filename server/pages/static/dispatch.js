"use strict";
/* Dispatch a ticket: ranked candidates with their score explained, the nearest
   technicians filtered out and why, the nearest stock of what the ticket needs,
   and one-click assign (the best candidate and the best stock come preselected). */
(() => {
  const API = {
    ticket: "GET /api/v1/tickets/{id}",
    candidates: "GET /api/v1/tickets/{id}/candidates",
    stock: "GET /api/v1/tickets/{id}/stock-options",
    assign: "POST /api/v1/tickets/{id}/assign",
    jobs: "GET /api/v1/jobs",
    swap: "GET /api/v1/jobs/{id}/swap-suggestion",
  };
  const { el, call } = FS;
  const root = document.getElementById("dispatch");
  const id = root.dataset.ticketId;
  const form = document.getElementById("options");
  const state = { ticket: null, report: null, stock: null, technician: null, picks: {}, unit: null };
  const criterion = (name) => FS.t("dispatch.criterion." + name);
  const kind = (k) => FS.label("location_kind", k);
  const CERTIFICATION = ["not_certified", "certification_expired"];  // of the ticket's product line

  const km = (x) => (x === null || x === undefined ? "—" : x.toFixed(x < 10 ? 1 : 0) + " km");
  const minutes = (m) => FS.fmtDuration(m * 60000);

  function summary(t, report) {
    const rows = [[FS.t("field.customer"), t.customer_name], [FS.t("field.category"), FS.label("category", t.category)],
      [FS.t("field.priority"), FS.label("priority", t.priority)], [FS.t("field.status"), FS.label("ticket_status", t.status)],
      [FS.t("field.summary"), t.summary]];
    if (report) {
      rows.push([FS.t("dispatch.product_line"), FS.label("product_line", report.product_line)],
                [FS.t("recon.warranty"), FS.t(report.under_warranty ? "dispatch.under_warranty" : "dispatch.out_of_warranty")],
                [FS.t("dispatch.needs"), report.needs.length ? report.needs.map((n) => n.label + " × " + n.quantity).join(", ")
                                                             : "—"]);
    }
    const dd = [];
    for (const [k, v] of rows) dd.push(el("dt", {}, k), el("dd", {}, v));
    dd.push(el("dt", {}, FS.t("dispatch.on_site_by")),
            el("dd", {}, FS.fmtTime(t.on_site_due_at) + " ", el("span", { class: "clock " +
              FS.clock(t.on_site_due_at, t.on_site_at).cls }, FS.clock(t.on_site_due_at, t.on_site_at).text)));
    document.getElementById("summary").replaceChildren(...dd);
    document.getElementById("dispatch-ref").textContent = FS.t("page.dispatch") + " · " + t.reference;
  }

  function breakdown(c) {
    return el("details", {}, el("summary", {}, c.score.toFixed(2)),
      el("ul", { class: "breakdown" }, Object.entries(c.score_breakdown).map(([name, k]) =>
        el("li", {}, el("b", {}, criterion(name)), " " + k.points.toFixed(2) + " / " + k.weight.toFixed(2)
           + " — " + explain(name, k, c)))));
  }

  /* A criterion's points in words, from its figures (the API's explanation is English). */
  function explain(name, k, c) {
    if (name === "eta") return FS.t("dispatch.explain.eta", { d: minutes(k.value || 0) });
    if (name === "deadline") return FS.t(k.value ? "dispatch.explain.meets" : "dispatch.explain.misses");
    if (name === "workload") return FS.t("dispatch.explain.workload", { n: k.value, max: c.max_open_jobs });
    if (name === "parts") {
      const needs = (state.report && state.report.needs) || [];
      if (k.value === null || k.value === undefined || !needs.length) return FS.t("dispatch.explain.no_parts");
      const held = c.van_holds || {};
      const covered = needs.filter((n) => (held[n.label] || 0) >= n.quantity).map((n) => n.label);
      return FS.t("dispatch.explain.parts", { n: covered.length, of: needs.length })
        + (covered.length ? ": " + covered.join(", ") : "");
    }
    return k.explanation;
  }

  /* What to know about a candidate: where the distance was measured from (when not a fresh fix), off shift. */
  function notes(c) {
    const out = [];
    const p = c.position;
    if (p && (p.source === "home_base" || p.stale)) out.push(position(p).textContent);
    if (!c.on_shift_now && !(c.flags || []).length) {
      out.push(FS.t("dispatch.sets_off", { t: FS.fmtTime(c.departs_at) }));
    }
    return out;
  }

  function picked() {
    if (!state.report) return null;
    return state.report.candidates.concat(state.report.late_candidates || [])
      .find((x) => x.technician_id === state.technician) || null;
  }

  function pickRadio(c) {
    return el("input", { type: "radio", name: "technician", value: c.technician_id,
      "aria-label": FS.t("dispatch.pick_one", { name: c.name }), checked: state.technician === c.technician_id,
      onchange: () => { state.technician = c.technician_id; markVans(); assignSummary(); } });
  }

  /* The technician's name, with a badge when they are on call (值班) as they would set off. */
  function nameCell(c) {
    return el("td", {}, c.name, c.on_call ? [" ", el("span", { class: "cert valid on-call",
      title: FS.t("dispatch.on_call.title") }, FS.t("dispatch.on_call"))] : null);
  }

  function lateRow(c) {
    // A call-out of someone on call overrides nothing (no reason needed): not marked as an override.
    const flags = (c.flags || []).map((f) => el("span", { class: f.code === "on_call" ? "cert valid" : "cert expired" },
      FS.label("unavailable_reason", f.code)));
    return el("tr", { class: c.needs_override ? "override" : null, dataset: { technicianId: c.technician_id } },
      el("td", {}, pickRadio(c)), el("td", {}, String(c.rank)), nameCell(c),
      el("td", {}, km(c.distance_km)),
      el("td", {}, FS.fmtTime(c.arrival_at), el("br"), el("span", { class: "small" }, minutes(c.eta_minutes))),
      el("td", { class: "clock " + (c.late_by_minutes ? "breached" : "met") },
         c.late_by_minutes ? minutes(c.late_by_minutes) : FS.t("dispatch.in_time")),
      el("td", {}, flags.length ? flags : "—"),
      el("td", { class: "small" }, position(c.position)));
  }

  function candidateRow(c) {
    const pick = pickRadio(c);
    const held = Object.entries(c.van_holds || {});
    return el("tr", { class: c.meets_deadline ? null : "late", dataset: { technicianId: c.technician_id } },
      el("td", {}, pick), el("td", {}, String(c.rank)), nameCell(c),
      el("td", {}, km(c.distance_km)),
      el("td", { title: FS.t("dispatch.sets_off", { t: FS.fmtTime(c.departs_at) }) }, minutes(c.eta_minutes), el("br"),
         el("span", { class: "small" }, FS.t("dispatch.arrives", { t: FS.fmtTime(c.arrival_at) }))),
      el("td", { class: "clock " + (c.meets_deadline ? "met" : "breached") },
         c.meets_deadline ? "✓ " + FS.t("dispatch.in_time") : "✗ " + FS.t("dispatch.late")),
      el("td", {}, c.open_jobs + " / " + c.max_open_jobs, c.on_shift_now ? null : el("br"),
         c.on_shift_now ? null : el("span", { class: "small" }, FS.t("dispatch.off_shift_now"))),
      el("td", {}, held.length ? held.map(([label, n]) => el("span", { class: "cert " + (n > 0 ? "valid" : "expired") },
         label + " × " + n)) : "—"),
      el("td", {}, breakdown(c)),
      el("td", { class: "small" }, notes(c).map((n) => el("div", {}, n))));
  }

  /* Which position the distance was measured from, and why (a stale fix gives way to the home base). */
  function position(p) {
    if (!p) return "—";
    const age = p.age_minutes === null ? "?" : minutes(p.age_minutes);
    return el("span", { dataset: { source: p.source } }, FS.t("dispatch.position." + p.source),
      p.stale ? " · " + FS.t("dispatch.position.stale", { age }) : "",
      p.source === "last_known" && !p.stale && p.age_minutes !== null ? " · " + age : "");
  }

  function renderCandidates(report) {
    const tbody = document.querySelector("#candidates tbody");
    const late = report.late_candidates || [];
    // In time, the best ranked is preselected; when nobody is, none is (an override is a decision).
    const inTime = report.candidates.filter((c) => c.meets_deadline).map((c) => c.technician_id);
    const ids = report.candidates.concat(late).map((c) => c.technician_id);
    if (!ids.includes(state.technician)) state.technician = inTime[0] || null;
    tbody.replaceChildren(...report.candidates.map(candidateRow));
    if (!report.candidates.length) {
      tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 10 }, FS.t("dispatch.no_candidate"))));
    }
    const card = document.getElementById("late-card");
    card.hidden = report.outcome === "in_time";
    document.getElementById("outcome").textContent = report.outcome === "in_time" ? ""
      : FS.t("dispatch.outcome." + report.outcome);
    document.getElementById("outcome").dataset.outcome = report.outcome;
    document.querySelector("#late tbody").replaceChildren(...late.map(lateRow));
    document.getElementById("candidates-note").textContent = FS.t("dispatch.evaluated", {
      t: FS.fmtTime(report.evaluated_at), n: report.examined,
      weights: Object.entries(report.weights).map(([k, w]) => criterion(k) + " " + w).join(", ") });
    const excluded = document.querySelector("#excluded tbody");
    excluded.replaceChildren(...report.excluded.map((x) => el("tr", {},
      el("td", {}, x.name), el("td", {}, km(x.distance_km)),
      el("td", {}, el("ul", { class: "reasons" }, x.reasons.map((r) => el("li", {}, FS.label("unavailable_reason", r.code)
        + (CERTIFICATION.includes(r.code) ? " · " + FS.label("product_line", report.product_line) : ""))))),
      el("td", { class: "small" }, position(x.position)))));
    if (!report.excluded.length) excluded.append(el("tr", { class: "empty" }, el("td", { colspan: 4 }, "—")));
  }

  function needKey(need) { return need.kind + ":" + (need.part_id || need.label); }

  function renderStock(stock) {
    const box = document.getElementById("stock-options");
    const blocks = [];
    for (const { need, options } of stock.items) {
      const key = needKey(need);
      const wantSpare = need.kind === "spare_unit";
      if (!(key in state.picks)) {
        const best = options.find((o) => o.sufficient);
        state.picks[key] = best && (!wantSpare || form.elements.with_spare_unit.checked) ? best.location_id : "";
      }
      const name = "stock-" + key;
      const none = el("label", {}, el("input", { type: "radio", name, value: "", checked: !state.picks[key],
        onchange: () => { state.picks[key] = ""; assignSummary(); } }), " " + FS.t("dispatch.reserve_nothing"));
      const rows = options.map((o) => el("tr", { class: o.sufficient ? null : "short", dataset: { locationId: o.location_id } },
        el("td", {}, el("input", { type: "radio", name, value: o.location_id, checked: state.picks[key] === o.location_id,
          "aria-label": FS.t("dispatch.take_from", { code: o.code }),
          onchange: () => { state.picks[key] = o.location_id; assignSummary(); } })),
        el("td", {}, String(o.rank)), el("td", {}, o.code, el("br"), el("span", { class: "small" }, o.name)),
        el("td", {}, kind(o.kind)), el("td", {}, km(o.distance_km)),
        el("td", {}, FS.t("unit.hours", { n: o.transfer_hours.toFixed(1) })),
        el("td", {}, String(o.on_hand)), el("td", {}, String(o.reserved)), el("td", {}, String(o.available)),
        el("td", {}, String(o.claimable) + (o.held_for_warranty ? " " + FS.t("dispatch.held_for_warranty", { n: o.held_for_warranty }) : "")),
        el("td", { class: o.sufficient ? "clock met" : "clock breached" }, o.sufficient ? "✓ " + FS.t("dispatch.enough") : "✗ " + FS.t("dispatch.short")),
        el("td", {}, wantSpare ? unitPicker(o) : "")));
      const table = el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, [FS.t("dispatch.pick"), "#", FS.t("field.location"), FS.t("stock.kind"), FS.t("dispatch.distance"),
          FS.t("dispatch.transfer"), FS.t("stock.on_hand"), FS.t("stock.reserved"), FS.t("stock.available"),
          FS.t("dispatch.claimable"), "", wantSpare ? FS.t("dispatch.unit") : ""]
          .map((h) => el("th", {}, h)))),
        el("tbody", {}, rows.length ? rows : [el("tr", { class: "empty" },
          el("td", { colspan: 12 }, FS.t("dispatch.nowhere")))]));
      blocks.push(el("div", { class: "need", dataset: { need: key } },
        el("h3", {}, FS.t(wantSpare ? "dispatch.need_unit" : "dispatch.need_part", { label: need.label, n: need.quantity })), none, table));
    }
    box.replaceChildren(...(blocks.length ? blocks : [el("p", {}, FS.t("dispatch.needs_nothing"))]));
    markVans();
  }

  function unitPicker(option) {
    if (!option.spare_units.length) return "—";
    return el("select", { "aria-label": FS.t("dispatch.unit_at", { code: option.code }), onchange: (e) => { state.unit = e.target.value; assignSummary(); } },
      option.spare_units.map((u) => el("option", { value: u.id, selected: u.id === state.unit }, u.serial_number)));
  }

  /* The chosen technician's own van is worth pointing out among the stock options. */
  function markVans() {
    const c = picked();
    for (const row of document.querySelectorAll("#stock-options tr[data-location-id]")) {
      row.classList.toggle("own-van", !!c && row.dataset.locationId === c.van_location_id);
    }
  }

  function chosenParts() {
    const parts = [];
    let unit = null;
    for (const { need, options } of (state.stock ? state.stock.items : [])) {
      const location = state.picks[needKey(need)];
      if (!location) continue;
      if (need.kind === "part") parts.push({ part_id: need.part_id, location_id: location, quantity: need.quantity });
      else {
        const option = options.find((o) => o.location_id === location);
        const units = option ? option.spare_units : [];
        unit = (units.find((u) => u.id === state.unit) || units[0] || {}).id || null;
      }
    }
    return { parts, unit };
  }

  /* An override (off shift, on leave, over the job limit) or a late arrival asks for the reason; calling out
     someone on call (flagged on_call, nothing else overridden) needs none: the box is then optional. */
  function onCallOut(c) { return !!c && !c.needs_override && (c.flags || []).some((f) => f.code === "on_call"); }
  function needsReason(c) { return !!c && (c.needs_override || !c.meets_deadline) && !onCallOut(c); }
  function asksReason(c) { return needsReason(c) || onCallOut(c); }

  function assignSummary() {
    const c = picked();
    const { parts, unit } = chosenParts();
    const text = c ? "→ " + c.name + " (" + km(c.distance_km) + ", " + FS.t("dispatch.arrives", { t: FS.fmtTime(c.arrival_at) })
                     + (c.late_by_minutes ? ", " + FS.t("dispatch.late.late_by") + " " + minutes(c.late_by_minutes)
                        : "") + ")"
                   : FS.t("dispatch.pick_technician");
    document.getElementById("assign-summary").textContent = text + " · "
      + FS.t(unit ? "dispatch.reserve_with_unit" : "dispatch.reserve", { n: parts.length });
    document.getElementById("override-label").hidden = !asksReason(c);
    document.getElementById("override-required").hidden = !needsReason(c);
    document.getElementById("override-optional").hidden = needsReason(c);
    document.getElementById("assign").disabled = !c;
  }

  function query() {
    const q = {};
    const line = form.elements.product_line.value.trim();
    if (line) q.product_line = line;
    if (form.elements.with_spare_unit.checked) q.with_spare_unit = "true";
    const limit = form.elements.limit.value;
    if (limit) q.limit = limit;
    return q;
  }

  async function load() {
    FS.flash("");
    try {
      state.ticket = await call(API.ticket, { params: { id } });
      summary(state.ticket, null);
    } catch (e) { FS.flash(FS.errorText(e)); return; }
    const results = await Promise.allSettled([
      call(API.candidates, { params: { id }, query: query() }),
      call(API.stock, { params: { id } }),
    ]);
    const [candidates, stock] = results;
    const problems = [];
    if (candidates.status === "fulfilled") {
      state.report = candidates.value;
      summary(state.ticket, state.report);
      renderCandidates(state.report);
    } else {
      state.report = null;
      document.querySelector("#candidates tbody").replaceChildren();
      document.querySelector("#excluded tbody").replaceChildren();
      problems.push(FS.t("dispatch.candidates") + ": " + FS.errorText(candidates.reason));
      if (candidates.reason.code === "product_line_unknown") form.elements.product_line.focus();
    }
    if (stock.status === "fulfilled") {
      state.stock = await withSpareUnit(stock.value);
      renderStock(state.stock);
    } else {
      state.stock = null;
      const reason = stock.reason;
      document.getElementById("stock-options").replaceChildren(el("p", {}, reason.code === "nothing_to_look_for"
        ? FS.t("dispatch.nothing_to_look_for") : FS.errorText(reason)));
      if (reason.code !== "nothing_to_look_for") problems.push(FS.t("dispatch.stock") + ": " + FS.errorText(reason));
    }
    if (problems.length) FS.flash(problems.join("\n"));
    DispatchMap.draw(state.report, state.stock);
    assignSummary();
    swaps();
  }

  /* With "bring a spare unit", also look up the asset's model (the stock options
     list only the parts when the ticket names some). */
  async function withSpareUnit(stock) {
    const need = state.report && state.report.needs.find((n) => n.kind === "spare_unit");
    if (!need || stock.items.some((i) => i.need.kind === "spare_unit")) return stock;
    try {
      const more = await call(API.stock, { params: { id }, query: { model: need.label } });
      return { ...stock, items: stock.items.concat(more.items) };
    } catch (e) { FS.flash(FS.errorText(e)); return stock; }
  }

  async function swaps() {
    const box = document.getElementById("swaps");
    let jobs;
    try { jobs = await call(API.jobs, { query: { ticket_id: id } }); } catch (e) { return; }
    const onSite = jobs.items.filter((j) => ["on_site", "incomplete"].includes(j.status));
    if (!onSite.length) { box.replaceChildren(el("p", { class: "small" }, FS.t("dispatch.no_visit_on_site"))); return; }
    const blocks = [];
    for (const job of onSite) {
      try {
        const s = await call(API.swap, { params: { id: job.id } });
        const note = s.note_code ? FS.t("swaps.note_code." + s.note_code, { model: s.model || "—" }) : s.note;
        blocks.push(el("div", {}, el("p", {}, FS.t("dispatch.visit_on_site", { h: (s.on_site_hours || 0).toFixed(1) })
          + (s.model ? " · " + FS.t("field.model") + " " + s.model : "") + (note ? " · " + note : "")),
          s.options.length ? el("table", { class: "grid" },
            el("thead", {}, el("tr", {}, [FS.t("dispatch.unit"), FS.t("field.location"), FS.t("dispatch.distance"), FS.t("dispatch.who_brings")]
              .map((h) => el("th", {}, h)))),
            el("tbody", {}, s.options.map((o) => el("tr", {}, el("td", {}, o.serial_number),
              el("td", {}, o.location_code + " (" + kind(o.location_kind) + ")"),
              el("td", {}, km(o.distance_km)),
              el("td", {}, o.couriers.length ? el("ul", {}, o.couriers.map((c) => el("li", {}, c.name + ": "
                + (c.holds_unit_in_van ? FS.t("swaps.in_van") : FS.t("swaps.to_pick_up", { d: km(c.to_pickup_km) }))
                + ", " + FS.t("swaps.delivers", { t: FS.fmtTime(c.delivered_at) })))) : FS.t("swaps.nobody"))))))
            : null));
      } catch (e) { blocks.push(el("p", {}, FS.errorText(e))); }
    }
    box.replaceChildren(...blocks);
  }

  document.getElementById("assign-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const errorBox = document.getElementById("assign-error");
    errorBox.hidden = true;
    if (!state.technician) return;
    const { parts, unit } = chosenParts();
    const body = { technician_id: state.technician, parts, spare_unit_id: unit };
    const line = form.elements.product_line.value.trim();
    if (line) body.product_line = line;
    const start = document.getElementById("a-planned-start").value;
    if (start) body.planned_start = FS.zonedInstant(start).toISOString();  // the company's wall clock
    const instructions = document.getElementById("a-instructions").value.trim();
    if (instructions) body.instructions = instructions;
    if (asksReason(picked())) {
      const reason = document.getElementById("a-override").value.trim();
      if ((needsReason(picked()) || reason) && reason.length < 3) {
        errorBox.textContent = FS.t("dispatch.override.needed");
        errorBox.hidden = false;
        return;
      }
      if (reason) body.override_reason = reason;
    }
    const button = document.getElementById("assign");
    button.disabled = true;
    try {
      const result = await call(API.assign, { params: { id }, body });
      FS.flash(FS.t("dispatch.assigned_to", { name: (picked() || {}).name }) + ", "
        + FS.t("dispatch.assigned_detail", { n: result.reservations.length, t: FS.fmtTime(result.arrival_at) })
        + (result.meets_deadline ? "" : " — " + FS.t("dispatch.misses_deadline"))
        + (result.override ? " · " + FS.t("dispatch.override.recorded") : ""), "ok");
      setTimeout(() => location.assign("/tickets/" + id), 1500);
    } catch (e) {
      errorBox.textContent = (e.status === 409 ? FS.t("dispatch.not_assigned") + ": " : "") + FS.errorText(e);
      errorBox.hidden = false;
      button.disabled = false;
      if (e.status === 409) {  // someone else acted: show what is true now, keep the error in view
        await load();
        const row = e.details.technician_id &&
          document.querySelector('#candidates tr[data-technician-id="' + e.details.technician_id + '"]');
        if (row) row.classList.add("refused");
      }
    }
  });

  form.addEventListener("submit", (event) => { event.preventDefault(); state.picks = {}; load(); });
  load();
})();
