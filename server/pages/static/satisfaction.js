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
  const { el, call } = FS;
  const RATINGS = ["satisfied", "acceptable", "dissatisfied", "very_poor"];
  const ZH = { satisfied: "满意", acceptable: "尚可", dissatisfied: "不满意", very_poor: "极差" };
  const QUESTIONS = ["response_speed", "resolution", "attitude", "installation", "training"];
  const SOURCE = { survey: "调查 survey", job_rating: "签收评价 sign-off" };
  const dayStart = (value) => (value ? new Date(value + "T00:00:00+08:00").toISOString() : null);
  const dayEnd = (value) => (value ? new Date(Date.parse(value + "T00:00:00+08:00") + 86400000).toISOString() : null);

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
    render: (t) => {
      const outcome = el("input", { placeholder: "回访结果 outcome", maxlength: 5000, class: "outcome" });
      const done = el("button", { type: "button", class: "close-follow-up", onclick: async () => {
        if (!outcome.value.trim()) { FS.flash("请填写回访结果 Please write the outcome."); return; }
        try {
          await call(API.closeFollowUp, { params: { id: t.id }, body: { outcome: outcome.value } });
          await followUps.reload();
          FS.flash("已处理 Closed", "ok");
        } catch (e) { FS.flash(FS.errorText(e)); }
      } }, "完成 Done");
      return el("tr", { dataset: { followUpId: t.id } }, el("td", {}, t.customer_name), el("td", {}, SOURCE[t.source] || t.source),
        el("td", { class: "text" }, t.reason), el("td", {}, FS.fmtTime(t.created_at)), el("td", {}, outcome, " ", done));
    },
    empty: "没有待处理的回访 No open follow-ups.",
  });

  let shown = null;
  const customers = FS.pager({
    tbody: document.querySelector("#customer-results tbody"), more: document.getElementById("more-customers"),
    load: (cursor) => call(API.invitations, { params: { id: shown }, query: Object.assign({ limit: 50 }, cursor ? { cursor } : {}) }),
    render: (i) => el("tr", {}, el("td", {}, i.customer_name), el("td", {}, FS.fmtTime(i.answered_at)),
      QUESTIONS.map((q) => el("td", { class: "rating-" + (i.answers[q] || "none") }, ZH[i.answers[q]] || "—")),
      el("td", { class: "text" }, i.comment || "")),
    empty: "尚未邀请 Nobody invited yet.",
  });

  async function results(c) {
    shown = c.id;
    try {
      const r = await call(API.results, { params: { id: c.id } });
      document.getElementById("results-title").textContent = c.name + " · 已回复 " + r.answered + " / " + r.invited;
      document.querySelector("#question-results tbody").replaceChildren(...r.questions.map((q) => el("tr", { dataset: { question: q.question } },
        el("td", {}, q.label), RATINGS.map((x) => el("td", {}, q.counts[x])), el("td", {}, q.answered))));
      document.getElementById("results").hidden = false;
      customers.reload();
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  const campaigns = FS.pager({
    tbody: document.querySelector("#campaigns tbody"), more: document.getElementById("more-campaigns"),
    load: (cursor) => call(API.campaigns, { query: Object.assign({ limit: 20 }, cursor ? { cursor } : {}) }),
    render: (c) => el("tr", { dataset: { campaignId: c.id } }, el("td", {}, c.name), el("td", {}, c.starts_on + " – " + c.ends_on),
      el("td", {}, c.invited), el("td", {}, c.answered),
      el("td", {},
        el("button", { type: "button", class: "send", onclick: async () => {
          try {
            const sent = await call(API.send, { params: { id: c.id }, body: {} });
            await campaigns.reload();
            FS.flash("已发送 " + sent.invited.length + " 份调查 Sent", "ok");
          } catch (e) { FS.flash(FS.errorText(e)); }
        } }, "发送给全部客户 Send to all"), " ",
        el("button", { type: "button", class: "show-results", onclick: () => results(c) }, "结果 Results"))),
    empty: "还没有调查 No campaigns yet.",
  });

  document.getElementById("new-campaign").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      await call(API.createCampaign, { body: { name: form.name.value, starts_on: form.starts_on.value, ends_on: form.ends_on.value } });
      form.reset();
      await campaigns.reload();
      FS.flash("已创建 Created", "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  });

  summary();
  followUps.reload();
  campaigns.reload();
})();
