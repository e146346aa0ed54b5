// The sandbox page: a Slack channel drawn from the server's events. Plain JS, no build step.
// Text from messages only ever reaches the DOM as textContent, or as HTML the server rendered
// and escaped (bot/sandbox/render.py); this script never builds markup from strings.

const state = {
  user: localStorage.getItem("upgradebot-sandbox-user") || "",
  channel: "",
  users: [],
  channels: [],
  messages: new Map(), // "channel/ts" -> message
  ephemerals: [],
  views: new Map(), // view id -> view, in opening order
  faults: [],
  clock: null,
  offsetMs: 0,
  thread: null, // ts of the open thread's parent
  unread: new Set(),
  hint: "",
  source: null,
  history: [],
  home: null, // the Home tab's HTML, once the bot published it
  showHome: false,
};

const $ = (selector) => document.querySelector(selector);
const key = (channel, ts) => `${channel}/${ts}`;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!response.ok) notice(answer.error || `HTTP ${response.status}`);
  return answer;
}

function notice(text) {
  $("#notice").textContent = text || "";
}

// ---- time: Slack's <!date^…> tokens, in this browser's zone

const sandboxNow = () => new Date(Date.now() + state.offsetMs);
const pad = (n) => String(n).padStart(2, "0");
const fmt = (date, options) => new Intl.DateTimeFormat(undefined, options).format(date);
const LONG = { year: "numeric", month: "long", day: "numeric" };
const SHORT = { year: "numeric", month: "short", day: "numeric" };
const WEEKDAY = { weekday: "long", year: "numeric", month: "long", day: "numeric" };

function dayDiff(date) {
  const now = sandboxNow();
  const a = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  const b = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((a - b) / 86400000);
}

function pretty(date, options) {
  const days = dayDiff(date);
  if (days === 0) return "Today";
  if (days === -1) return "Yesterday";
  if (days === 1) return "Tomorrow";
  return fmt(date, options);
}

function ago(date) {
  const seconds = Math.round((date - sandboxNow()) / 1000);
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(seconds, "second");
}

const TOKENS = {
  date_num: (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
  date: (d) => fmt(d, LONG),
  date_short: (d) => fmt(d, SHORT),
  date_long: (d) => fmt(d, WEEKDAY),
  date_pretty: (d) => pretty(d, LONG),
  date_short_pretty: (d) => pretty(d, SHORT),
  date_long_pretty: (d) => pretty(d, WEEKDAY),
  time: (d) => fmt(d, { hour: "numeric", minute: "2-digit" }),
  time_secs: (d) => fmt(d, { hour: "numeric", minute: "2-digit", second: "2-digit" }),
  ago: (d) => ago(d),
};

export function formatSlackDate(date, format) {
  return format.replace(/\{(\w+)\}/g, (all, name) => (TOKENS[name] ? TOKENS[name](date) : all));
}

function localizeDates(root) {
  for (const node of root.querySelectorAll("time.slack-date")) {
    const date = new Date(node.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    if (!node.dataset.fallback) node.dataset.fallback = node.textContent;
    node.textContent = formatSlackDate(date, node.dataset.format || "{date_short_pretty} {time}");
    node.title = fmt(date, { dateStyle: "full", timeStyle: "long" });
    node.classList.add("localized");
  }
  for (const node of root.querySelectorAll("[data-color]")) {
    if (/^#[0-9a-fA-F]{6}$/.test(node.dataset.color)) node.style.borderLeftColor = node.dataset.color;
  }
}

function showClock() {
  if (!state.clock) return;
  const now = sandboxNow();
  $("#clock-now").textContent = fmt(now, {
    weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
  $("#clock-now").setAttribute("datetime", now.toISOString());
  const hours = Math.round(state.offsetMs / 3600000);
  const days = Math.floor(hours / 24);
  const ahead = days ? `${days} d ${hours % 24} h` : `${hours} h`;
  $("#clock-offset").textContent = state.offsetMs >= 60000 ? `(${ahead} ahead)` : "(now)";
  const next = state.clock.next_due ? new Date(state.clock.next_due) : null;
  $("#clock-next").textContent = next
    ? `next: ${pretty(next, SHORT)} ${fmt(next, { hour: "numeric", minute: "2-digit" })}`
    : "nothing scheduled";
}

function setClock(clock) {
  state.clock = clock;
  state.offsetMs = (clock.offset_seconds || 0) * 1000;
  showClock();
  localizeDates(document);
}

// ---- messages

function messageNode(message, inThread) {
  const node = h("div", {
    class: message.ephemeral ? "msg ephemeral" : "msg",
    "data-channel": message.channel,
    "data-ts": message.ts,
    "data-ephemeral": message.ephemeral ? "1" : null,
  });
  const when = new Date(parseFloat(message.ts) * 1000);
  node.append(h("div", { class: "msg-head" },
    h("span", { class: "msg-author" }, message.author),
    message.bot ? h("span", { class: "msg-app" }, "APP") : null,
    h("span", { class: "msg-time", title: when.toLocaleString() }, fmt(when, { hour: "numeric", minute: "2-digit" })),
    message.edited ? h("span", { class: "msg-edited" }, "(edited)") : null,
  ));
  const body = h("div", { class: "msg-body" });
  body.innerHTML = message.html; // rendered and escaped by the server
  localizeDates(body);
  node.append(body);
  if (message.ephemeral) node.append(h("div", { class: "msg-only-you" }, "Only visible to you"));
  if (message.reactions && message.reactions.length) {
    node.append(h("div", { class: "msg-reactions" },
      ...message.reactions.map((r) => h("span", {}, `${r.emoji} ${r.count}`))));
  }
  if (!inThread && !message.ephemeral && !message.thread_ts) {
    if (message.replies > 0) {
      const label = message.replies === 1 ? "1 reply" : `${message.replies} replies`;
      node.append(h("button", { type: "button", class: "msg-replies", onclick: () => openThread(message.ts) }, label));
    }
    node.append(h("button", { type: "button", class: "msg-reply-link", onclick: () => openThread(message.ts) }, "Reply in thread"));
  }
  return node;
}

function place(container, itemKey, ts, node) {
  node.dataset.key = itemKey;
  const stuck = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  const old = [...container.children].find((child) => child.dataset.key === itemKey);
  if (old) {
    old.replaceWith(node); // an edit shows in place
    return;
  }
  const later = [...container.children].find(
    (child) => child.dataset.ts && parseFloat(child.dataset.ts) > parseFloat(ts));
  container.insertBefore(node, later || null);
  if (stuck) container.scrollTop = container.scrollHeight;
}

const inChannel = (m) => !m.thread_ts || m.broadcast;
const inThread = (m, parent) => m.ts === parent || m.thread_ts === parent;

function showMessage(message) {
  const itemKey = (message.ephemeral ? "e:" : "m:") + key(message.channel, message.ts);
  if (message.channel !== state.channel) {
    if (!message.ephemeral) {
      state.unread.add(message.channel);
      drawChannels();
    }
    return;
  }
  if (inChannel(message)) place($("#messages"), itemKey, message.ts, messageNode(message, false));
  if (state.thread && inThread(message, state.thread)) {
    place($("#thread-messages"), itemKey, message.ts, messageNode(message, true));
  }
}

function removeMessage(channel, ts) {
  state.messages.delete(key(channel, ts));
  for (const node of document.querySelectorAll(".msg")) {
    if (node.dataset.channel === channel && node.dataset.ts === ts && !node.dataset.ephemeral) node.remove();
  }
}

function drawChannel() {
  const current = state.channels.find((c) => c.id === state.channel);
  $("#channel-title").textContent = current ? (current.kind === "dm" ? current.name : `#${current.name}`) : "";
  $("#composer-input").placeholder = current ? `Message ${$("#channel-title").textContent} — try /upgrade help` : "";
  const pane = $("#messages");
  pane.replaceChildren(introNode());
  const shown = [...state.messages.values(), ...state.ephemerals]
    .filter((m) => m.channel === state.channel)
    .sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
  for (const message of shown) showMessage(message);
  pane.scrollTop = pane.scrollHeight;
  drawThread();
}

function introNode() {
  const box = h("div", { class: "intro", "data-key": "intro" },
    h("strong", {}, "This is the upgradebot sandbox. "),
    "The real bot answers here, with Slack played by a local stand-in and a simulated DataMiner System. Try ",
    h("code", {}, "/upgrade help"), ", or propose a window: ", h("code", { id: "hint" }, state.hint));
  box.append(h("button", { type: "button", onclick: () => { $("#composer-input").value = state.hint; $("#composer-input").focus(); } }, "Use it"));
  return box;
}

function openThread(ts) {
  state.thread = ts;
  drawThread();
  $("#thread-input").focus();
}

function drawThread() {
  const pane = $("#thread-pane");
  $("#layout").classList.toggle("with-thread", Boolean(state.thread));
  pane.hidden = !state.thread;
  const list = $("#thread-messages");
  list.replaceChildren();
  if (!state.thread) return;
  const shown = [...state.messages.values(), ...state.ephemerals]
    .filter((m) => m.channel === state.channel && inThread(m, state.thread))
    .sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
  for (const message of shown) {
    const itemKey = (message.ephemeral ? "e:" : "m:") + key(message.channel, message.ts);
    place(list, itemKey, message.ts, messageNode(message, true));
  }
}

function drawChannels() {
  const list = $("#channel-list");
  list.replaceChildren(...state.channels.map((channel) => h("li", {},
    h("button", {
      type: "button",
      "aria-current": channel.id === state.channel && !state.showHome ? "true" : "false",
      class: state.unread.has(channel.id) ? "unread" : null,
      onclick: () => { state.showHome = false; state.channel = channel.id; state.thread = null; state.unread.delete(channel.id); drawChannels(); drawHome(); drawChannel(); },
    }, channel.kind === "dm" ? `✉ ${channel.name}` : `# ${channel.name}`))));
}

function drawHome() {
  $("#home-button").setAttribute("aria-current", state.showHome ? "true" : "false");
  $("#home-pane").hidden = !state.showHome;
  $("#channel-pane").hidden = state.showHome;
  if (state.showHome) {
    state.thread = null;
    drawThread();
  }
  const body = $("#home-body");
  if (state.home === null) {
    body.replaceChildren(h("p", { class: "home-empty" }, "Opening…"));
    return;
  }
  body.innerHTML = state.home; // rendered and escaped by the server
  localizeDates(body);
}

function openHome() {
  state.showHome = true;
  drawChannels();
  drawHome();
  post("/api/home", { user: state.user }); // Slack sends app_home_opened; the bot publishes
}

// A Home button links to a thread (…/archives/C123/p1700000000000100): show it here.
function followThreadLink(url) {
  const match = /\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})/.exec(url);
  if (!match) return false;
  state.showHome = false;
  state.channel = match[1];
  drawChannels();
  drawHome();
  drawChannel();
  openThread(`${match[2]}.${match[3]}`);
  return true;
}

function drawUsers() {
  const select = $("#user-switch");
  select.replaceChildren(...state.users.map((u) => h("option", { value: u.id, selected: u.id === state.user }, u.label)));
}

// ---- modals

function drawModal() {
  const layer = $("#modal-layer");
  const views = [...state.views.values()];
  const top = views[views.length - 1];
  if (!top) {
    layer.hidden = true;
    layer.replaceChildren();
    return;
  }
  const kept = layer.querySelector("form.modal");
  const before = kept && kept.dataset.viewId === top.id ? formValues(kept) : {};
  const holder = document.createElement("div");
  holder.innerHTML = top.html; // rendered and escaped by the server
  const form = holder.firstElementChild;
  for (const [blockId, fields] of Object.entries(before)) {
    for (const [actionId, value] of Object.entries(fields)) {
      const field = fieldOf(form, blockId, actionId);
      if (field && value) field.value = value;
    }
  }
  localizeDates(form);
  layer.replaceChildren(form);
  layer.hidden = false;
  const first = form.querySelector(".bk-field-input, .bk-select");
  if (first && !kept) first.focus();
}

function fieldOf(form, blockId, actionId) {
  return [...form.querySelectorAll(".bk-input [data-action-id]")].find(
    (node) => node.dataset.blockId === blockId && node.dataset.actionId === actionId);
}

function formValues(form) {
  const values = {};
  for (const field of form.querySelectorAll(".bk-input [data-action-id]")) {
    const value = field.dataset.type === "checkboxes"
      ? [...field.querySelectorAll("input:checked")].map((box) => box.value).join("\n")
      : field.value;
    (values[field.dataset.blockId] ||= {})[field.dataset.actionId] = value;
  }
  return values;
}

function showErrors(form, errors, problem) {
  for (const input of form.querySelectorAll(".bk-input")) {
    const text = errors[input.dataset.blockId];
    const slot = input.querySelector(".bk-error");
    slot.textContent = text || "";
    slot.hidden = !text;
    input.classList.toggle("has-error", Boolean(text));
  }
  const top = form.querySelector(".modal-problem");
  top.textContent = problem || "";
  top.hidden = !problem;
}

async function submitModal(form) {
  const answer = await post("/api/view/submit", { user: state.user, view_id: form.dataset.viewId, values: formValues(form) });
  showErrors(form, answer.errors || {}, answer.problem || (answer.ok ? "" : answer.error));
}

// ---- clicks

function confirmFirst(template) {
  const dialog = $("#confirm-dialog");
  dialog.replaceChildren(template.content.cloneNode(true)); // rendered and escaped by the server
  localizeDates(dialog);
  return new Promise((resolve) => {
    const done = (answer) => { dialog.close(); resolve(answer); };
    dialog.querySelector(".confirm-yes").addEventListener("click", () => done(true));
    dialog.querySelector(".confirm-no").addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", () => resolve(false), { once: true });
    dialog.showModal();
  });
}

async function sendAction(element, value) {
  const body = { user: state.user, action_id: element.dataset.actionId, block_id: element.dataset.blockId };
  if (value !== null) body.value = value;
  const form = element.closest("form.modal");
  if (form) {
    body.view_id = form.dataset.viewId;
    body.values = formValues(form);
  } else {
    const message = element.closest(".msg");
    body.channel = message.dataset.channel;
    body.ts = message.dataset.ts;
    if (message.dataset.ephemeral) body.ephemeral = true;
  }
  element.classList.add("busy");
  try {
    await post("/api/action", body);
  } finally {
    element.classList.remove("busy");
  }
}

async function clickButton(button) {
  if (button.closest("#home-body")) {
    if (!button.dataset.url || !followThreadLink(button.dataset.url)) notice("This button only works in Slack.");
    return;
  }
  const next = button.nextElementSibling;
  if (next && next.matches("template.bk-confirm") && !(await confirmFirst(next))) return;
  if (button.dataset.url) window.open(button.dataset.url, "_blank", "noopener");
  await sendAction(button, null);
}

// ---- fault drill

const FAULTS = [
  ["critical_alarm", "Critical alarm", (s) => s.critical_alarm],
  ["unreachable", "Agent down", (s, agent) => s.unreachable.includes(agent)],
  ["failing_prerequisite", "Failing prerequisite", (s, agent) => agent in s.failing_prerequisite],
  ["fail_upgrade", "Failing upgrade step", (s, agent) => agent in s.fail_upgrade],
];

function drawFaults() {
  const section = $("#fault-drill");
  section.hidden = state.faults.length === 0;
  const holder = $("#fault-systems");
  const chosen = {};
  for (const select of holder.querySelectorAll("select")) chosen[select.dataset.system] = select.value;
  holder.replaceChildren(...state.faults.map((system) => {
    const agent = chosen[system.system] || system.agents[0];
    const select = h("select", { "data-system": system.system, "aria-label": `Agent of ${system.system}` },
      ...system.agents.map((name) => h("option", { value: name, selected: name === agent }, name)));
    select.addEventListener("change", drawFaults);
    const buttons = FAULTS.map(([fault, label, isOn]) => {
      const on = isOn(system, agent);
      return h("button", {
        type: "button", "data-fault": fault, "aria-pressed": on ? "true" : "false",
        onclick: () => post("/api/faults", { system: system.system, fault, agent: select.value, on: !on }),
      }, label);
    });
    buttons.push(h("button", { type: "button", "data-fault": "all", onclick: () => post("/api/faults", { system: system.system, fault: "all", on: false }) }, "Clear all"));
    const active = [];
    if (system.critical_alarm) active.push("critical alarm");
    for (const name of system.unreachable) active.push(`${name} unreachable`);
    for (const name of Object.keys(system.failing_prerequisite)) active.push(`${name}: prerequisite fails`);
    for (const name of Object.keys(system.fail_upgrade)) active.push(`${name}: next upgrade fails`);
    return h("div", { class: "fault-system", "data-system": system.system },
      h("h3", {}, system.system),
      h("label", {}, "Agent ", select),
      h("div", { class: "fault-buttons" }, ...buttons),
      h("p", { class: "fault-active" }, active.length ? active.join("\n") : "no faults"));
  }));
}

// ---- the event stream

function handle(event) {
  switch (event.type) {
    case "snapshot": {
      state.user = event.user;
      localStorage.setItem("upgradebot-sandbox-user", event.user);
      state.users = event.users;
      state.channels = event.channels;
      state.hint = event.hint;
      if (!state.channels.some((c) => c.id === state.channel)) state.channel = state.channels[0].id;
      state.messages = new Map(event.messages.map((m) => [key(m.channel, m.ts), m]));
      state.ephemerals = event.ephemerals;
      state.views = new Map(event.views.map((v) => [v.id, v]));
      state.faults = event.faults;
      state.home = event.home;
      setClock(event.clock);
      drawUsers();
      drawChannels();
      drawChannel();
      drawHome();
      if (state.showHome) post("/api/home", { user: state.user });
      drawModal();
      drawFaults();
      document.body.dataset.ready = "1";
      break;
    }
    case "message":
      state.messages.set(key(event.message.channel, event.message.ts), event.message);
      showMessage(event.message);
      break;
    case "deleted":
      removeMessage(event.channel, event.ts);
      break;
    case "ephemeral":
      state.ephemerals.push(event.ephemeral);
      showMessage(event.ephemeral);
      break;
    case "view":
      state.views.set(event.view.id, event.view);
      drawModal();
      break;
    case "view_closed":
      state.views.delete(event.id);
      drawModal();
      break;
    case "home":
      state.home = event.html;
      drawHome();
      break;
    case "clock":
      setClock(event.clock);
      break;
    case "faults":
      state.faults = event.faults;
      drawFaults();
      break;
    default:
      break;
  }
}

function connect() {
  if (state.source) state.source.close();
  delete document.body.dataset.ready;
  const source = new EventSource(`/api/events?user=${encodeURIComponent(state.user)}`);
  source.onmessage = (message) => handle(JSON.parse(message.data));
  source.onerror = () => notice("Connection lost; reconnecting…");
  source.onopen = () => notice("");
  state.source = source;
}

// ---- wiring

function sendComposer(input, threadTs) {
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  state.history.push(text);
  post("/api/command", { user: state.user, channel: state.channel, text, thread_ts: threadTs });
}

$("#composer").addEventListener("submit", (event) => {
  event.preventDefault();
  sendComposer($("#composer-input"), null);
});
$("#composer-input").addEventListener("keydown", (event) => {
  if (event.key === "ArrowUp" && !event.target.value && state.history.length) {
    event.target.value = state.history[state.history.length - 1];
  }
});
$("#thread-composer").addEventListener("submit", (event) => {
  event.preventDefault();
  sendComposer($("#thread-input"), state.thread);
});
$("#thread-close").addEventListener("click", () => { state.thread = null; drawThread(); });
$("#home-button").addEventListener("click", openHome);
$("#user-switch").addEventListener("change", (event) => {
  state.user = event.target.value;
  localStorage.setItem("upgradebot-sandbox-user", state.user);
  connect();
});
for (const button of document.querySelectorAll("[data-travel]")) {
  button.addEventListener("click", async () => {
    const answer = await post("/api/travel", { amount: button.dataset.travel });
    if (answer.ok) notice(answer.message);
  });
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("#home-body a[href]");
  if (link && followThreadLink(link.getAttribute("href"))) {
    event.preventDefault(); // a window's link on the Home tab opens its thread here
    return;
  }
  const button = event.target.closest("button.bk-button");
  if (button) {
    event.preventDefault();
    clickButton(button);
    return;
  }
  const form = event.target.closest("form.modal");
  if (form && event.target.closest(".modal-x, .modal-cancel")) {
    post("/api/view/close", { user: state.user, view_id: form.dataset.viewId });
  }
});
document.addEventListener("change", (event) => {
  const field = event.target.closest("select.bk-select, input.bk-field-input");
  if (field && !field.closest(".bk-input")) sendAction(field, field.value);
});
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.modal");
  if (form) {
    event.preventDefault();
    submitModal(form);
  }
});

setInterval(showClock, 1000);
connect();
