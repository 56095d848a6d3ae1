"use strict";
/* Satisfaction: sign-off rating counts, customer service's follow-ups, survey campaigns and their results. */
(() => {
  const API = {
    summary: "GET /api/v1/quality/ratings/summary",
    followUps: "GET /api/v1/quality/follow-ups",
    closeFollowUp: "POST /api/v1/quality/follow-ups/{id}/close",
    campaigns: "GET /api/v1/quality/surveys",
    createCampaign: "POST /api/v1/quality/surveys",
    send: "POST /api/v1/quality/surveys/{id}/send",
    results: "GET /api/v1/quality/surveys/{id}/results",
    invitations: "GET /api/v1/quality/surveys/{id}/invitations",
  };
  const { el, call, t, label } = FS;
  const RATINGS = ["satisfied", "acceptable", "dissatisfied", "very_poor"];
  const QUESTIONS = ["response_speed", "resolution", "attitude", "installation", "training"];
  // A date picked is a day in the company's zone; the API takes moments.
  const nextDay = (day) => { const d = new Date(day + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1); return d.toISOString().slice(0, 10); };
  const dayStart = (day) => (day ? FS.zoneMidnight(day).toISOString() : null);
  const dayEnd = (day) => (day ? FS.zoneMidnight(nextDay(day)).toISOString() : null);

  const ratingForm = document.getElementById("rating-filters");
  async function summary() {
    const query = {};
    const from = dayStart(document.getElementById("f-from").value), to = dayEnd(document.getElementById("f-to").value);
    if (from) query.from = from;
    if (to) query.to = to;
    try {
      const s = await call(API.summary, { query });
      document.querySelector("#rating-summary tbody").replaceChildren(el("tr", {},
        RATINGS.map((r) => el("td", { "data-rating": r }, s.counts[r])), el("td", {}, s.total), el("td", {}, s.with_opinion)));
    } catch (e) { FS.flash(FS.errorText(e)); }
  }
  ratingForm.addEventListener("submit", (event) => { event.preventDefault(); summary(); });

  const followUps = FS.pager({
    tbody: document.querySelector("#follow-ups tbody"), more: document.getElementById("more-follow-ups"),
    load: (cursor) => call(API.followUps, { query: Object.assign({ status: "open", limit: 50 }, cursor ? { cursor } : {}) }),
    render: (task) => {
      const outcome = el("input", { placeholder: t("satisfaction.outcome_hint"), maxlength: 5000, class: "outcome" });
      const done = el("button", { type: "button", class: "close-follow-up", onclick: async () => {
        if (!outcome.value.trim()) { FS.flash(t("satisfaction.outcome_needed")); return; }
        try {
          await call(API.closeFollowUp, { params: { id: task.id }, body: { outcome: outcome.value } });
          await followUps.reload();
          FS.flash(t("satisfaction.closed"), "ok");
        } catch (e) { FS.flash(FS.errorText(e)); }
      } }, t("satisfaction.done"));
      return el("tr", { dataset: { followUpId: task.id } }, el("td", {}, task.customer_name), el("td", {}, label("follow_up_source", task.source)),
        el("td", { class: "text" }, task.reason), el("td", {}, FS.fmtTime(task.created_at)), el("td", {}, outcome, " ", done));
    },
    empty: t("satisfaction.no_follow_ups"),
  });

  let shown = null;
  const customers = FS.pager({
    tbody: document.querySelector("#customer-results tbody"), more: document.getElementById("more-customers"),
    load: (cursor) => call(API.invitations, { params: { id: shown }, query: Object.assign({ limit: 50 }, cursor ? { cursor } : {}) }),
    render: (i) => el("tr", {}, el("td", {}, i.customer_name), el("td", {}, FS.fmtTime(i.answered_at)),
      QUESTIONS.map((q) => el("td", { class: "rating-" + (i.answers[q] || "none") }, label("customer_rating", i.answers[q]))),
      el("td", { class: "text" }, i.comment || "")),
    empty: t("satisfaction.nobody_invited"),
  });

  async function results(c) {
    shown = c.id;
    try {
      const r = await call(API.results, { params: { id: c.id } });
      document.getElementById("results-title").textContent = t("satisfaction.results_title", { name: c.name, answered: r.answered, invited: r.invited });
      document.querySelector("#question-results tbody").replaceChildren(...r.questions.map((q) => el("tr", { dataset: { question: q.question } },
        el("td", {}, label("survey_question", q.question)), RATINGS.map((x) => el("td", {}, q.counts[x])), el("td", {}, q.answered))));
      document.getElementById("results").hidden = false;
      customers.reload();
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  const campaigns = FS.pager({
    tbody: document.querySelector("#campaigns tbody"), more: document.getElementById("more-campaigns"),
    load: (cursor) => call(API.campaigns, { query: Object.assign({ limit: 20 }, cursor ? { cursor } : {}) }),
    render: (c) => el("tr", { dataset: { campaignId: c.id } }, el("td", {}, c.name), el("td", {}, FS.fmtTime(c.starts_on, "date") + " – " + FS.fmtTime(c.ends_on, "date")),
      el("td", {}, c.invited), el("td", {}, c.answered),
      el("td", {},
        el("button", { type: "button", class: "send", onclick: async () => {
          try {
            const sent = await call(API.send, { params: { id: c.id }, body: {} });
            await campaigns.reload();
            FS.flash(t("satisfaction.sent", { n: sent.invited.length }), "ok");
          } catch (e) { FS.flash(FS.errorText(e)); }
        } }, t("satisfaction.send_all")), " ",
        el("button", { type: "button", class: "show-results", onclick: () => results(c) }, t("satisfaction.results")))),
    empty: t("satisfaction.no_campaigns"),
  });

  document.getElementById("new-campaign").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      await call(API.createCampaign, { body: { name: form.name.value, starts_on: form.starts_on.value, ends_on: form.ends_on.value } });
      form.reset();
      await campaigns.reload();
      FS.flash(t("satisfaction.campaign_created"), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  });

  summary();
  followUps.reload();
  campaigns.reload();
})();
