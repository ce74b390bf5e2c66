// hotline console: one ES module, no build step. Every byte of data comes from the REST API
// (/api/v1), with the signed-in user's bearer token, so it can do nothing a department or bot
// could not do with the same key.

const $ = (sel, root = document) => root.querySelector(sel);
const main = () => $("#main");

// ---------------------------------------------------------------- vocabulary (zh-CN first)
export const TYPES = { consultation: "咨询", help: "求助", complaint: "投诉", report: "举报",
  suggestion: "建议", praise: "表扬", other: "其他" };
const STATUS = { received: "已接收", pending_dispatch: "待派单", dispatched: "已派单", accepted: "已签收",
  in_progress: "办理中", replied: "已办结待回访", called_back: "已回访", closed: "已结案",
  returned: "已退单", dispute_review: "退单争议审核", extension_requested: "延期申请中",
  reopened: "重办", merged: "已并单", handed_off: "已转警", refused: "不予受理",
  answered_directly: "直接办结" };
const EVENTS = { received: "受理", dispatched: "派单", queued_for_manual_dispatch: "进入人工派单",
  redispatched: "改派", accepted: "签收", co_accepted: "协办签收", progress_added: "办理进展", replied: "办结回复",
  co_replied: "协办回复", returned: "退单", return_disputed: "退单争议", extension_requested: "申请延期",
  extension_approved: "同意延期", extension_refused: "不同意延期", called_back: "回访", reopened: "重办",
  closed: "结案", merged: "并单", merged_in: "并入", handed_off: "转警", refused: "不予受理",
  answered_directly: "直接办结", reclassified: "重新分类", note_added: "备注", attachment_added: "补充材料",
  identity_viewed: "查看市民身份", probable_duplicate: "疑似重复", sla_warning: "时限预警", sla_breach: "超时",
  reminder: "催办", reminder_notice: "催办通知书", reprimand: "通报", supervision: "督办" };
const CHANNELS = { phone: "电话", web: "网站", app: "APP", sms: "短信", weibo: "微博", wechat: "微信",
  open311: "Open311" };
const ACTIONS = {
  dispatch: ["派单", [["department_code", "承办单位", "unit"], ["reason", "派单说明", "text"]]],
  redispatch: ["改派", [["department_code", "改派至", "unit"], ["reason", "改派理由", "text"]]],
  accept: ["签收", [["note", "备注", "text"]]],
  co_accept: ["协办签收", [["note", "备注", "text"]]],
  add_progress: ["办理进展", [["text", "进展", "textarea"], ["contacted_citizen", "已联系市民", "checkbox"]]],
  reply: ["办结回复", [["text", "答复内容", "textarea"]]],
  co_reply: ["协办回复", [["text", "答复内容", "textarea"]]],
  return_ticket: ["退单", [["reason_code", "退单理由", "return_reason"], ["note", "说明", "text"]]],
  resolve_return: ["退单处理", [["decision", "处理", "decision"], ["department_code", "改派至", "unit"],
    ["note", "说明", "text"]]],
  request_extension: ["申请延期", [["days", "延期工作日", "number"], ["reason", "理由", "text"]]],
  decide_extension: ["延期审批", [["approve", "同意延期", "checkbox"], ["days", "批准工作日", "number"],
    ["note", "说明", "text"]]],
  record_callback: ["回访", [["satisfaction", "满意度", "satisfaction"], ["note", "回访记录", "text"]]],
  close: ["结案", [["note", "备注", "text"]]],
  merge: ["并单", [["into", "并入工单编号", "text"], ["note", "说明", "text"]]],
  hand_off: ["转警", [["line", "转至", "line"], ["note", "说明", "text"]]],
  refuse: ["不予受理", [["reason_code", "理由", "refusal_reason"], ["note", "说明", "text"]]],
  answer_directly: ["直接办结", [["answer", "答复内容", "textarea"]]],
  reclassify: ["重新分类", [["type", "类型", "type"], ["reason", "理由", "text"]]],
  add_note: ["备注", [["text", "备注", "textarea"]]],
};
const CHOICES = {
  decision: { redispatch: "改派", dispute: "争议审核" },
  satisfaction: { satisfied: "满意", basically_satisfied: "基本满意", unsatisfied: "不满意" },
  line: { 110: "110 公安", 119: "119 消防", 120: "120 急救", 122: "122 交通事故" },
  return_reason: { not_our_remit: "不属于本单位职责", outside_jurisdiction: "不在本单位辖区",
    insufficient_information: "诉求信息不全", duplicate: "重复工单", legal_proceedings: "已进入诉讼程序",
    other: "其他" },
  refusal_reason: { outside_government_services: "不属于政务服务范围", legal_proceedings: "已进入诉讼程序",
    repeated_without_new_facts: "重复诉求且无新情况", abusive: "恶意骚扰", other: "其他" },
  type: TYPES,
};

// ---------------------------------------------------------------- session and API
const store = window.sessionStorage;
let me = null;
let units = null;

async function api(path, { method = "GET", body, quiet = false } = {}) {
  const headers = { Accept: "application/json" };
  const token = store.getItem("hotline.token");
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["Idempotency-Key"] = crypto.randomUUID();
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401 && !path.endsWith("/auth/login")) {
    store.removeItem("hotline.token");
    me = null;
    location.hash = "#/login";
    throw new Error("请重新登录");
  }
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const msg = (data && (data.detail || data.title)) || `HTTP ${r.status}`;
    if (!quiet) flash(msg, true);
    const err = new Error(msg);
    err.status = r.status;
    err.data = data;
    throw err;
  }
  return data;
}

function flash(text, error = false) {
  const d = document.createElement("div");
  d.textContent = text;
  if (error) d.className = "error";
  $("#flash").append(d);
  setTimeout(() => d.remove(), error ? 6000 : 3500);
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "html") el.innerHTML = v; // only for server-escaped highlight snippets
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

// replaceChildren that skips the nulls conditional rendering leaves behind.
const fill = (el, ...children) => el.replaceChildren(...children.flat(2).filter((c) => c !== null && c !== undefined && c !== false));
const fmt = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—");
const unitName = (code) => (code ? (units?.[code] ?? code) : "—");
const tag = (text, cls = "") => h("span", { class: `tag ${cls}` }, text);

async function loadUnits() {
  if (units) return;
  const page = await api("/api/v1/departments?limit=200");
  units = Object.fromEntries(page.items.map((d) => [d.code, d.name]));
}

function unitSelect(name) {
  const sel = h("select", { name, id: `f-${name}` }, h("option", { value: "" }, "— 选择单位 —"));
  for (const [code, label] of Object.entries(units || {})) sel.append(h("option", { value: code }, label));
  return sel;
}

// ---------------------------------------------------------------- pages
const pages = {};

pages.login = async () => {
  const form = h("form", { class: "card", style: "max-width:420px;margin:3rem auto" },
    h("h1", {}, "登录 12345 热线工作台"),
    h("label", { for: "login-name" }, "用户名"), h("input", { id: "login-name", name: "name", autocomplete: "username", required: true }),
    h("label", { for: "login-password" }, "密码"),
    h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("p", {}, h("button", { class: "primary", type: "submit" }, "登录")),
    h("details", {}, h("summary", { class: "muted" }, "使用 API 密钥登录（部门对接）"),
      h("label", { for: "login-key" }, "API 密钥"), h("input", { id: "login-key", name: "key" })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      if (f.get("key")) store.setItem("hotline.token", f.get("key"));
      else {
        const out = await api("/api/v1/auth/login", { method: "POST", body: { name: f.get("name"), password: f.get("password") } });
        store.setItem("hotline.token", out.token);
      }
      me = null;
      await whoami();
      location.hash = me.role === "department" ? "#/dept" : "#/call";
    } catch (err) {
      store.removeItem("hotline.token");
    }
  });
  fill(main(), form);
  $("#login-name").focus();
};

// 接听来电: the caller's history, the ticket form with live suggestions, the tracking number.
pages.call = async (params) => {
  await loadUnits();
  const calls = await api("/api/v1/calls?limit=10", { quiet: true }).catch(() => ({ items: [] }));
  const ringing = (calls.items || []).find((c) => !c.tracking_number && c.caller && c.caller !== "anonymous");
  const caller = params.get("caller") || ringing?.caller || "";
  const callId = params.get("call") || (caller === ringing?.caller ? ringing?.call_id : "") || "";

  const history = h("div", { id: "history" }, h("p", { class: "muted" }, "输入来电号码查看历史工单"));
  const suggest = h("div", { id: "suggest" }, h("p", { class: "muted" }, "输入诉求内容后，系统实时给出类型、地点和承办单位建议"));
  const result = h("div", { id: "result" });
  const typeSel = h("select", { name: "type", id: "f-type" }, h("option", { value: "" }, "— 由系统判断 —"),
    ...Object.entries(TYPES).map(([k, v]) => h("option", { value: k }, v)));
  const form = h("form", { class: "card", id: "ticket-form" },
    h("h2", {}, "填写工单"),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "f-phone" }, "来电号码"), h("input", { id: "f-phone", name: "phone", value: caller, required: true })),
      h("div", {}, h("label", { for: "f-name" }, "市民姓名"), h("input", { id: "f-name", name: "name" })),
      h("div", {}, h("label", { for: "f-call" }, "通话编号"), h("input", { id: "f-call", name: "call_id", value: callId }))),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "f-type" }, "工单类型"), typeSel),
      h("div", {}, h("label", { for: "f-place" }, "事发地点"), h("input", { id: "f-place", name: "place" })),
      h("div", {}, h("label", {}, h("input", { type: "checkbox", name: "confidential", style: "width:auto" }), " 市民要求保密"))),
    h("label", { for: "f-text" }, "诉求内容"), h("textarea", { id: "f-text", name: "text", required: true }),
    h("p", { class: "actions" }, h("button", { class: "primary", type: "submit", id: "submit-ticket" }, "提交工单（Ctrl+Enter）")));

  let timer = null;
  let lastArticles = [];
  const refreshSuggestions = async () => {
    const text = $("#f-text").value.trim();
    if (text.length < 4) return;
    const out = await api("/api/v1/routing/preview", { method: "POST", body: { text, place: $("#f-place").value || null }, quiet: true }).catch(() => null);
    if (!out) return;
    const d = out.decision;
    lastArticles = out.articles;
    fill(suggest,
      h("dl", { class: "kv" },
        h("dt", {}, "类型"), h("dd", { id: "sg-type" }, TYPES[d.type] || d.type),
        h("dt", {}, "主题"), h("dd", {}, d.topic || "—"),
        h("dt", {}, "地点"), h("dd", {}, d.town_code ? unitName(d.town_code) : (d.place?.status === "ambiguous" ? "有歧义，请确认" : "—")),
        h("dt", {}, "紧急程度"), h("dd", {}, d.urgency === "emergency" ? tag(`紧急：转 ${d.handoff?.line ?? ""}`, "emergency") : d.urgency === "utilities" ? "水电气" : "一般"),
        h("dt", {}, "承办单位"), h("dd", { id: "sg-unit" }, unitName(d.department_code) + (d.confidence ? `（置信度 ${(d.confidence * 100).toFixed(0)}%）` : ""))),
      d.reasons?.length ? h("ul", { class: "reasons" }, d.reasons.map((r) => h("li", {}, r))) : null,
      out.articles.length ? h("h2", { style: "margin-top:.8rem" }, "知识库") : null,
      ...out.articles.map((a) => h("div", { class: "card", style: "margin-bottom:.4rem" },
        h("strong", {}, a.title), h("div", { html: a.snippet }),
        h("button", { type: "button", class: "answer-with", onclick: () => answerWith(a) }, "用此文章直接答复"))));
    if (!typeSel.value && d.type) typeSel.dataset.suggested = d.type;
  };
  const lookup = async () => {
    const phone = $("#f-phone").value.trim();
    if (phone.length < 5) return;
    const out = await api(`/api/v1/citizens/lookup?phone=${encodeURIComponent(phone)}`, { quiet: true }).catch(() => null);
    if (!out) return;
    if (out.citizen?.name && !$("#f-name").value) $("#f-name").value = out.citizen.name;
    fill(history, out.tickets.length ? ticketTable(out.tickets) : h("p", { class: "muted" }, "该号码没有历史工单"));
  };

  const create = async () => {
    const f = new FormData(form);
    const body = { phone: f.get("phone"), name: f.get("name") || null, text: f.get("text"),
      place: f.get("place") || null, type: f.get("type") || null, call_id: f.get("call_id") || null,
      confidential: f.get("confidential") === "on" };
    return api("/api/v1/tickets", { method: "POST", body });
  };
  const showNumber = (t, how) => {
    fill(result, h("div", { class: "card" },
      h("p", {}, how), h("p", {}, "请向市民复述工单编号："), h("p", { class: "big", id: "tracking-number" }, t.tracking_number),
      h("p", {}, h("a", { href: `#/ticket/${t.tracking_number}` }, "查看工单"))));
    flash(`工单 ${t.tracking_number} 已提交`);
  };
  async function answerWith(article) {
    if (!$("#f-text").value.trim()) return flash("请先填写诉求内容", true);
    const t = await create();
    const full = await api(`/api/v1/knowledge/articles/${article.id}`);
    await api(`/api/v1/tickets/${t.tracking_number}/answer_directly`, { method: "POST", body: { answer: full.answer, article_id: article.id } });
    showNumber(t, `已用知识库文章「${article.title}」（第 ${article.version} 版）直接办结。`);
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const t = await create();
    const detail = await api(`/api/v1/tickets/${t.tracking_number}`);
    showNumber(t, detail.department_code ? `已派至 ${unitName(detail.department_code)}。` : "已进入人工派单队列。");
  });
  form.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.ctrlKey) form.requestSubmit(); });
  form.addEventListener("input", (e) => {
    if (e.target.name === "text" || e.target.name === "place") { clearTimeout(timer); timer = setTimeout(refreshSuggestions, 350); }
  });
  form.querySelector("#f-phone").addEventListener("change", lookup);

  fill(main(), h("h1", {}, "接听来电"),
    h("div", { class: "grid3" }, h("div", {}, form, result),
      h("div", {}, h("div", { class: "card" }, h("h2", {}, "系统建议"), suggest),
        h("div", { class: "card", style: "margin-top:1rem" }, h("h2", {}, "来电历史"), history))));
  if (caller) lookup();
  $("#f-text").focus();
};

function ticketTable(items, { dept = false } = {}) {
  const now = Date.now();
  return h("table", {},
    h("thead", {}, h("tr", {}, ["编号", "类型", "状态", "渠道", dept ? "期限" : "承办单位", "诉求", "受理时间"].map((c) => h("th", {}, c)))),
    h("tbody", {}, items.map((t) => {
      const overdue = t.reply_due_at && new Date(t.reply_due_at).getTime() < now && !["closed", "replied", "called_back", "answered_directly"].includes(t.status);
      return h("tr", { class: "clickable", tabindex: 0, "data-tn": t.tracking_number,
        onclick: () => (location.hash = `#/ticket/${t.tracking_number}`),
        onkeydown: (e) => e.key === "Enter" && (location.hash = `#/ticket/${t.tracking_number}`) },
      h("td", {}, t.tracking_number), h("td", {}, TYPES[t.type] || t.type),
      h("td", {}, STATUS[t.status] || t.status, overdue ? [" ", tag("超时", "breach")] : null),
      h("td", {}, CHANNELS[t.channel] || t.channel),
      h("td", {}, dept ? fmt(t.reply_due_at) : unitName(t.department_code)),
      h("td", {}, (t.subject || t.text || "").slice(0, 48)), h("td", {}, fmt(t.received_at)));
    })));
}

// 工单队列: the manual dispatch queue with suggestions, all tickets with filters, hot issues.
pages.queues = async (params) => {
  await loadUnits();
  const tab = params.get("tab") || "manual";
  const body = h("div", {});
  const tabs = h("div", { class: "tabs" },
    [["manual", "人工派单"], ["all", "全部工单"], ["hot", "热点与疑似重复"]].map(([k, v]) =>
      h("button", { class: k === tab ? "active" : "", onclick: () => (location.hash = `#/queues?tab=${k}`) }, v)));
  fill(main(), h("h1", {}, "工单队列"), tabs, body);
  if (tab === "manual") {
    const q = await api("/api/v1/dispatch-queue?limit=50", { quiet: true }).catch(() => api("/api/v1/tickets?status=pending_dispatch&limit=50"));
    const items = q.items || [];
    if (!items.length) return fill(body, h("p", { class: "muted" }, "人工派单队列为空"));
    fill(body, h("table", {}, h("thead", {}, h("tr", {}, ["编号", "类型", "诉求", "系统建议（前三）", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, items.map((it) => {
        const t = it.ticket || it;
        const sugg = (it.suggestions || t.routing?.suggestions || []).filter((s) => s.department_code).slice(0, 3);
        return h("tr", {}, h("td", {}, h("a", { href: `#/ticket/${t.tracking_number}` }, t.tracking_number)),
          h("td", {}, TYPES[t.type] || t.type), h("td", {}, (t.text || "").slice(0, 60)),
          h("td", {}, sugg.length ? h("ol", { class: "reasons" }, sugg.map((s) => h("li", {}, `${unitName(s.department_code)} ${s.confidence ? `(${Math.round(s.confidence * 100)}%)` : ""}`, s.reason ? h("div", {}, s.reason) : null))) : "—"),
          h("td", {}, sugg[0] ? h("button", { class: "primary", onclick: async () => {
            await api(`/api/v1/tickets/${t.tracking_number}/dispatch`, { method: "POST", body: { department_code: sugg[0].department_code, reason: "按系统建议派单" } });
            flash(`已派至 ${unitName(sugg[0].department_code)}`);
            pages.queues(params);
          } }, "按建议派单") : null));
      }))));
  } else if (tab === "all") {
    const filters = h("form", { class: "row card", style: "margin-bottom:.6rem" },
      h("div", {}, h("label", {}, "关键词"), h("input", { name: "q", value: params.get("q") || "" })),
      h("div", {}, h("label", {}, "类型"), h("select", { name: "type" }, h("option", { value: "" }, "全部"), Object.entries(TYPES).map(([k, v]) => h("option", { value: k, selected: params.get("type") === k }, v)))),
      h("div", {}, h("label", {}, "状态"), h("select", { name: "status" }, h("option", { value: "" }, "全部"), Object.entries(STATUS).map(([k, v]) => h("option", { value: k, selected: params.get("status") === k }, v)))),
      h("div", {}, h("label", {}, "渠道"), h("select", { name: "channel" }, h("option", { value: "" }, "全部"), Object.entries(CHANNELS).map(([k, v]) => h("option", { value: k, selected: params.get("channel") === k }, v)))),
      h("div", {}, h("label", {}, h("input", { type: "checkbox", name: "overdue", value: "true", style: "width:auto", checked: params.get("overdue") === "true" }), " 仅看超时")),
      h("button", { class: "primary", type: "submit" }, "查询"));
    filters.addEventListener("submit", (e) => {
      e.preventDefault();
      const p = new URLSearchParams([...new FormData(filters)].filter(([, v]) => v));
      p.set("tab", "all");
      location.hash = `#/queues?${p}`;
    });
    const p = new URLSearchParams(params);
    p.delete("tab");
    p.set("limit", "50");
    const page = await api(`/api/v1/tickets?${p}`);
    fill(body, filters, page.items.length ? ticketTable(page.items) : h("p", { class: "muted" }, "没有符合条件的工单"));
  } else {
    const hot = await api("/api/v1/hot-issues", { quiet: true }).catch(() => ({ items: [] }));
    const items = hot.items || hot.clusters || [];
    fill(body, items.length ? h("table", {}, h("thead", {}, h("tr", {}, ["地点", "工单数", "示例", "工单"].map((c) => h("th", {}, c)))),
      h("tbody", {}, items.map((c) => h("tr", {}, h("td", {}, unitName(c.town_code || c.place) || "—"), h("td", {}, c.count ?? c.size ?? "—"),
        h("td", {}, (c.sample_text || c.sample || "").slice(0, 60)),
        h("td", {}, (c.tracking_numbers || []).slice(0, 5).map((tn) => h("a", { href: `#/ticket/${tn}`, style: "margin-right:.4rem" }, tn))))))) : h("p", { class: "muted" }, "暂无热点问题"));
  }
};

// 工单详情: everything about one ticket, and the actions legal in its state for this user.
pages.ticket = async (params, tn) => {
  await loadUnits();
  const [t, life] = await Promise.all([
    api(`/api/v1/tickets/${encodeURIComponent(tn)}`),
    api(`/api/v1/tickets/${encodeURIComponent(tn)}/lifecycle`, { quiet: true }).catch(() => null),
  ]);
  const citizen = t.citizen || {};
  const actions = life?.allowed_actions || [];
  const lc = life?.lifecycle || {};
  const units = (life?.assignments || []).filter((a) => a.role !== "lead");
  const actionBox = h("div", { id: "action-form" });
  const showForm = (name) => {
    const [label, fields] = ACTIONS[name] || [name, []];
    const form = h("form", { class: "card", style: "margin-top:.6rem" }, h("h2", {}, label),
      fields.map(([key, flabel, kind]) => {
        let input;
        if (kind === "unit") input = unitSelect(key);
        else if (kind === "textarea") input = h("textarea", { name: key, id: `f-${key}` });
        else if (kind === "checkbox") return h("label", {}, h("input", { type: "checkbox", name: key, style: "width:auto" }), ` ${flabel}`);
        else if (kind === "number") input = h("input", { type: "number", name: key, id: `f-${key}`, min: 1, max: 10 });
        else if (CHOICES[kind]) input = h("select", { name: key, id: `f-${key}` }, Object.entries(CHOICES[kind]).map(([k, v]) => h("option", { value: k }, v)));
        else input = h("input", { name: key, id: `f-${key}` });
        return [h("label", { for: `f-${key}` }, flabel), input];
      }),
      h("p", { class: "actions" }, h("button", { class: "primary", type: "submit" }, `确认${label}`),
        h("button", { type: "button", onclick: () => fill(actionBox) }, "取消")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = {};
      for (const [key, , kind] of fields) {
        const el = form.elements[key];
        if (kind === "checkbox") body[key] = el.checked;
        else if (kind === "number") { if (el.value) body[key] = Number(el.value); }
        else if (el.value) body[key] = el.value;
      }
      await api(`/api/v1/tickets/${t.tracking_number}/${name}`, { method: "POST", body });
      flash(`${label}成功`);
      pages.ticket(params, tn);
    });
    fill(actionBox, form);
    form.querySelector("input,select,textarea")?.focus();
  };
  const due = (label, iso) => iso ? [h("dt", {}, label), h("dd", {}, fmt(iso), new Date(iso) < new Date() && !["closed", "answered_directly"].includes(t.status) ? [" ", tag("已超时", "breach")] : null)] : null;
  fill(main(),
    h("h1", {}, `工单 ${t.tracking_number} `, tag(STATUS[t.status] || t.status), " ", t.urgency === "emergency" ? tag("紧急", "emergency") : null),
    h("div", { class: "grid3" },
      h("div", {},
        h("div", { class: "card" },
          h("dl", { class: "kv" },
            h("dt", {}, "类型"), h("dd", {}, TYPES[t.type] || t.type),
            h("dt", {}, "渠道"), h("dd", {}, CHANNELS[t.channel] || t.channel),
            h("dt", {}, "主题"), h("dd", {}, t.topic || "—"),
            h("dt", {}, "地点"), h("dd", {}, [t.town_code ? unitName(t.town_code) : null, t.location_address].filter(Boolean).join(" · ") || "—",
              t.lat && t.lng ? h("div", { class: "muted" }, `坐标 ${t.lat.toFixed(5)}, ${t.lng.toFixed(5)}`) : null),
            h("dt", {}, "承办单位"), h("dd", { id: "ticket-unit" }, unitName(t.department_code)),
            h("dt", {}, "市民"), h("dd", { id: "ticket-citizen" }, citizen.hidden ? tag("身份已保密") : [citizen.name || "", " ", citizen.phone || ""]),
            h("dt", {}, "受理时间"), h("dd", {}, fmt(t.received_at)),
            due("派单时限", t.dispatch_due_at), due("办结时限", t.reply_due_at)),
          t.subject ? h("h2", { style: "margin-top:.8rem" }, t.subject) : null,
          h("p", { style: "white-space:pre-wrap" }, t.text),
          units.length ? h("p", { class: "muted" }, "协办单位：", units.map((a) => `${unitName(a.department_code)}（${a.replied_at ? "已回复" : a.accepted_at ? "已签收" : "待签收"}）`).join("、")) : null,
          lc.reply_text ? [h("h2", {}, "答复"), h("p", { style: "white-space:pre-wrap", id: "ticket-reply" }, lc.reply_text)] : null,
          lc.reply_text && t.type === "consultation" && ["replied", "called_back", "closed"].includes(t.status)
            ? h("button", { id: "to-knowledge", onclick: async () => {
              const a = await api(`/api/v1/knowledge/articles/from-ticket/${t.tracking_number}`, { method: "POST" });
              flash(`已生成知识库文章草稿 #${a.id}，请审核后发布`);
            } }, "这条答复可作为知识库文章：生成草稿") : null,
          lc.satisfaction ? h("p", {}, "回访满意度：", CHOICES.satisfaction[lc.satisfaction] || lc.satisfaction) : null),
        h("div", { class: "card", style: "margin-top:1rem" }, h("h2", {}, "可执行操作"),
          actions.length ? h("div", { class: "actions", id: "actions" }, actions.map((a) => h("button", { "data-action": a, onclick: () => showForm(a) }, ACTIONS[a]?.[0] || a)))
            : h("p", { class: "muted" }, "当前状态下没有可执行的操作"),
          actionBox)),
      h("div", { class: "card" }, h("h2", {}, "办理过程"),
        h("ol", { class: "timeline", id: "timeline" }, (t.events || []).map((e) => h("li", {},
          h("strong", {}, EVENTS[e.kind] || e.kind), " ", h("span", { class: "muted" }, `${fmt(e.created_at)} · ${e.actor}`),
          e.to_status && e.from_status !== e.to_status ? h("div", {}, `${STATUS[e.from_status] || e.from_status || "—"} → ${STATUS[e.to_status] || e.to_status}`) : null,
          e.reason ? h("div", { class: "muted" }, e.reason) : null))))));
};

// 督办看板: SLA warnings and breaches by unit, KPI ranking, with charts; refreshes itself.
function barChart(rows, { value, label, max = 1, pct = true, width = 520 }) {
  const bh = 20, gap = 6, lw = 150;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("width", width);
  svg.setAttribute("height", rows.length * (bh + gap) + 4);
  svg.setAttribute("role", "img");
  rows.forEach((r, i) => {
    const v = Number(value(r)) || 0;
    const w = Math.max(1, ((width - lw - 60) * v) / (max || 1));
    const y = i * (bh + gap);
    svg.insertAdjacentHTML("beforeend",
      `<text x="0" y="${y + 14}"></text><rect x="${lw}" y="${y}" width="${w}" height="${bh}" fill="#c8161d" opacity=".8"></rect>` +
      `<text x="${lw + w + 6}" y="${y + 14}">${pct ? (v * 100).toFixed(1) + "%" : v}</text>`);
    svg.querySelectorAll("text")[i * 2].textContent = label(r);
  });
  return svg;
}

pages.board = async () => {
  await loadUnits();
  const month = new Date().toISOString().slice(0, 7);
  const [sla, kpis] = await Promise.all([
    api("/api/v1/sla/board", { quiet: true }).catch(() => null),
    api(`/api/v1/kpis?month=${month}`, { quiet: true }).catch(() => null),
  ]);
  const slaRows = sla?.units || sla?.items || [];
  const ranking = kpis?.items || kpis?.ranking || [];
  const stamp = h("p", { class: "muted", id: "board-updated" }, `更新于 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}，每 30 秒自动刷新`);
  fill(main(), h("h1", {}, "督办看板"), stamp,
    h("div", { class: "grid" },
      h("div", { class: "card", id: "sla-board" }, h("h2", {}, "时限预警与超时（按单位）"),
        slaRows.length ? [barChart(slaRows.slice(0, 12), { value: (r) => (r.breaches ?? r.breached ?? 0) + (r.warnings ?? 0), label: (r) => unitName(r.department_code || r.code), pct: false, max: Math.max(1, ...slaRows.map((r) => (r.breaches ?? r.breached ?? 0) + (r.warnings ?? 0))) }),
          h("table", {}, h("thead", {}, h("tr", {}, ["单位", "预警", "超时", "在办"].map((c) => h("th", {}, c)))),
            h("tbody", {}, slaRows.map((r) => h("tr", { "data-unit": r.department_code || r.code }, h("td", {}, unitName(r.department_code || r.code)),
              h("td", {}, r.warnings ?? 0), h("td", { class: "breaches" }, r.breaches ?? r.breached ?? 0), h("td", {}, r.open ?? "—")))))]
          : h("p", { class: "muted" }, "暂无预警或超时工单")),
      h("div", { class: "card" }, h("h2", {}, `${month} 单位考核排名（按时办结率）`),
        ranking.length ? [barChart(ranking.slice(0, 12), { value: (r) => r.on_time_rate ?? 0, label: (r) => unitName(r.department_code || r.unit || r.code) }),
          h("table", {}, h("thead", {}, h("tr", {}, ["单位", "工单", "响应率", "按时率", "满意率", "退单", "延期"].map((c) => h("th", {}, c)))),
            h("tbody", {}, ranking.map((r) => h("tr", {}, h("td", {}, unitName(r.department_code || r.unit || r.code)), h("td", {}, r.received ?? r.tickets ?? "—"),
              ["response_rate", "on_time_rate", "satisfaction_rate"].map((k) => h("td", {}, r[k] == null ? "—" : `${(r[k] * 100).toFixed(1)}%`)),
              h("td", {}, r.returns ?? 0), h("td", {}, r.extensions ?? 0)))))]
          : h("p", { class: "muted" }, "本月暂无考核数据"))));
};

// 本单位工单: a department's own queue (the API shows it nothing else).
pages.dept = async (params) => {
  await loadUnits();
  const code = me.department_code;
  const status = params.get("status") || "";
  const page = await api(`/api/v1/departments/${code}/tickets?limit=50${status ? `&status=${status}` : ""}`);
  const items = page.items || [];
  fill(main(), h("h1", {}, `${unitName(code)} · 本单位工单`),
    h("div", { class: "tabs" }, [["", "全部"], ["dispatched", "待签收"], ["accepted", "已签收"], ["in_progress", "办理中"], ["returned", "已退单"]].map(([k, v]) =>
      h("button", { class: k === status ? "active" : "", onclick: () => (location.hash = `#/dept?status=${k}`) }, v))),
    items.length ? ticketTable(items, { dept: true }) : h("p", { class: "muted" }, "没有工单"));
};

// ---------------------------------------------------------------- shell
async function whoami() {
  if (me) return me;
  if (!store.getItem("hotline.token")) return null;
  me = await api("/api/v1/me");
  return me;
}

function renderNav() {
  const nav = $("#nav");
  const who = $("#who");
  fill(nav);
  fill(who);
  if (!me) return;
  const links = me.role === "department" ? [["#/dept", "本单位工单"]]
    : [["#/call", "接听来电"], ["#/queues", "工单队列"], ...(["supervisor", "admin"].includes(me.role) ? [["#/board", "督办看板"]] : [])];
  const here = location.hash.split("?")[0];
  for (const [href, text] of links) nav.append(h("a", { href, class: here.startsWith(href) ? "active" : "" }, text));
  who.append(`${me.name}（${{ agent: "话务员", supervisor: "班长", department: unitName(me.department_code), admin: "管理员" }[me.role] || me.role}）`,
    h("button", { onclick: async () => { await api("/api/v1/auth/logout", { method: "POST", quiet: true }).catch(() => {}); store.removeItem("hotline.token"); me = null; location.hash = "#/login"; } }, "退出"));
}

let boardTimer = null;
async function route() {
  clearInterval(boardTimer);
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const [, page, arg] = path.split("/");
  try {
    if (page !== "login" && !(await whoami())) return (location.hash = "#/login");
    if (me) await loadUnits();
    renderNav();
    if (page === "login") return pages.login();
    if (page === "ticket" && arg) return await pages.ticket(params, decodeURIComponent(arg));
    if (pages[page]) {
      await pages[page](params);
      if (page === "board") boardTimer = setInterval(() => location.hash.startsWith("#/board") && pages.board(), 30000);
      return;
    }
    location.hash = me.role === "department" ? "#/dept" : "#/call";
  } catch (err) {
    if (err.status !== 401) fill(main(), h("p", { class: "card" }, `出错了：${err.message}`));
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("keydown", (e) => {
  if (!e.altKey || !me) return;
  const keys = { 1: "#/call", 2: "#/queues", 3: "#/board" };
  if (keys[e.key]) { location.hash = keys[e.key]; e.preventDefault(); }
});
route();
