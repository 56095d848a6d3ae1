"use strict";
/* Complaints to closure: the list, one complaint's steps (who, when, what), its next step and an explicit handover. */
(() => {
  const API = {
    list: "GET /api/v1/quality/complaints",
    one: "GET /api/v1/quality/complaints/{id}",
    step: "POST /api/v1/quality/complaints/{id}/steps",
    handover: "POST /api/v1/quality/complaints/{id}/handover",
    owners: "GET /api/v1/tickets/handover-candidates",  // the tickets' hand-over rule: one list of eligible people
  };
  const { el, call, t, label } = FS;
  const REQUIRED = { analysed: ["cause"], responsibility: ["responsible_department"], remedy_agreed: ["remedy"],
                     followed_up: ["follow_up_result"] };
  const filters = document.getElementById("filters");
  const stepForm = document.getElementById("step-form");
  const handoverForm = document.getElementById("handover-form");
  let current = null;

  const list = FS.pager({
    tbody: document.querySelector("#complaints tbody"), more: document.getElementById("more"),
    load: (cursor) => {
      const open = document.getElementById("f-open").value;
      return call(API.list, { query: Object.assign({ limit: 50 }, open ? { open } : {}, cursor ? { cursor } : {}) });
    },
    render: (c) => el("tr", { dataset: { ticketId: c.ticket_id }, class: "clickable", onclick: () => show(c.ticket_id) },
      el("td", {}, el("a", { href: "/tickets/" + c.ticket_id }, c.reference)), el("td", {}, c.customer_name),
      el("td", {}, c.summary), el("td", {}, label("complaint_class", c.complaint_class)),
      el("td", { class: "stage" }, label("complaint_stage", c.stage)), el("td", {}, c.accountable_name || "—"),
      el("td", {}, FS.fmtTime(c.received_at))),
    empty: t("complaints.none"),
  });

  function what(s) {
    if (s.step === "handed_over") return t("complaints.handed_to", { name: s.to_name || "—" }) + " · " + s.note;
    return s.note;
  }

  function render(c) {
    current = c;
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-title").textContent = c.reference + " · " + c.customer_name;
    const facts = [["complaints.stage", label("complaint_stage", c.stage)], ["complaints.accountable", c.accountable_name],
      ["complaints.cause", c.cause], ["complaints.department", c.responsible_department],
      ["complaints.person", c.responsible_person], ["complaints.remedy", c.remedy],
      ["complaints.follow_up_result", c.follow_up_result]];
    document.getElementById("facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v || "—")]));
    document.querySelector("#steps tbody").replaceChildren(...c.steps.map((s) => el("tr", {},
      el("td", {}, label("complaint_stage", s.step)), el("td", {}, FS.fmtTime(s.at)), el("td", {}, s.by_name || "—"),
      el("td", { class: "text" }, what(s)))));
    stepForm.hidden = handoverForm.hidden = !c.next_step;
    document.getElementById("next-step").textContent = c.next_step ? t("complaints.next", { step: label("complaint_stage", c.next_step) }) : "";
    const needed = REQUIRED[c.next_step] || [];
    for (const node of stepForm.querySelectorAll("label[data-for]")) node.hidden = !needed.includes(node.dataset.for);
  }

  async function show(id) {
    try { render(await call(API.one, { params: { id } })); } catch (e) { FS.flash(FS.errorText(e)); }
  }

  stepForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { step: current.next_step };
    for (const input of stepForm.querySelectorAll("input")) {
      const holder = input.closest("label");
      if (input.value.trim() && !(holder && holder.hidden)) body[input.name] = input.value.trim();
    }
    try {
      render(await call(API.step, { params: { id: current.ticket_id }, body }));
      stepForm.reset();
      await list.reload();
      FS.flash(t("complaints.saved"), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  });

  handoverForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      render(await call(API.handover, { params: { id: current.ticket_id },
        body: { to_user_id: document.getElementById("handover-to").value, note: document.getElementById("handover-note").value } }));
      handoverForm.reset();
      findOwners();
      await list.reload();
      FS.flash(t("complaints.handed_over"), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  });

  /* Whom to hand over to: a page of the eligible office users, narrowed by part of a name or username. */
  const picker = { asked: 0, timer: null };
  async function findOwners() {
    const q = document.getElementById("handover-q").value.trim();
    const mine = ++picker.asked;
    let page;
    try { page = await call(API.owners, { query: Object.assign({ limit: 20 }, q ? { q } : {}) }); }
    catch (e) { if (mine === picker.asked) FS.flash(FS.errorText(e)); return; }
    if (mine !== picker.asked) return;  // a later search is under way
    const options = page.items.map((u) => el("option", { value: u.id }, u.display_name + "（" + u.username + "）"));
    if (!options.length) options.push(el("option", { value: "" }, t("tkt.handover_none")));
    if (page.next_cursor) options.push(el("option", { value: "", disabled: true }, t("complaints.search_for_more")));
    document.getElementById("handover-to").replaceChildren(...options);
  }
  document.getElementById("handover-q").addEventListener("input", () => {
    clearTimeout(picker.timer);
    picker.timer = setTimeout(findOwners, 200);
  });
  findOwners();
  filters.addEventListener("submit", (event) => { event.preventDefault(); list.reload(); });
  list.reload();
})();
