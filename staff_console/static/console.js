// The staff console's pages: rendered from the JSON the server pushes (Server-Sent Events). No library.
"use strict";

const STATUS = { idle: "Đang trống", serving: "Đang tiếp công dân", paused: "Tạm nghỉ" };
const TICKET_STATE = { called: "Đang gọi", serving: "Đang phục vụ", served: "Đã phục vụ", missed: "Vắng mặt",
  transferred: "Đã chuyển", waiting: "Đang chờ", voided: "Đã huỷ" };
const PRINTER = { ready: "Sẵn sàng", paper_low: "Sắp hết giấy", paper_out: "Hết giấy", cover_open: "Nắp máy in mở",
  offline: "Không kết nối được máy in" };
const PRINTER_PROBLEMS = new Set(["paper_low", "paper_out", "cover_open", "offline"]);

let zone = "Asia/Ho_Chi_Minh";
let view = null;
let serverOffset = 0;  // the center's clock minus this PC's: waits are counted on the center's clock

function now() {
  return new Date(Date.now() + serverOffset);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child === null || child === undefined ? "" : child);
  return node;
}

function clockTime(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat("vi-VN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone })
    .format(new Date(iso));
}

function minutesSince(iso, until) {
  if (!iso) return null;
  const end = until ? new Date(until) : now();
  return Math.max(0, Math.floor((end - new Date(iso)) / 60000));
}

function minutesText(minutes) {
  if (minutes === null) return "—";
  if (minutes < 60) return `${minutes} phút`;
  const rest = minutes % 60;
  return rest ? `${Math.floor(minutes / 60)} giờ ${rest} phút` : `${minutes / 60} giờ`;
}

function percent(share) {
  if (share === null || share === undefined) return "—";
  return `${(Math.round(share * 1000) / 10).toLocaleString("vi-VN")} %`;
}

function count(n) {
  return (n ?? 0).toLocaleString("vi-VN");
}

function levelName(names, level) {
  const found = names.levels.find(([id]) => id === level);
  return found ? found[1] : level;
}

function fill(id, rows) {
  const body = document.getElementById(id);
  body.replaceChildren(...rows);
}

// --- the official's counter page ------------------------------------------------------------

function renderCounter(data) {
  const page = document.querySelector(".counter-page");
  const state = data.state || { status: "idle", ticket: null };
  const names = data.names;
  const me = page.dataset.me;
  const ticket = state.ticket;
  // The counter's name follows the center's config (an administrator may rename it while the page is open).
  document.getElementById("ten-quay").textContent = names.counters[data.counter_id] || data.counter_id;
  const status = document.getElementById("trang-thai");
  status.textContent = STATUS[state.status] || state.status;
  status.className = `status ${state.status}`;
  const seated = state.official;
  document.getElementById("ngoi").textContent = seated
    ? (seated.username === me ? "Ông/Bà đang nhận quầy này." : `${seated.name} đang nhận quầy này.`)
    : "Chưa có cán bộ nhận quầy này.";
  document.getElementById("nut-ngoi").hidden = Boolean(seated && seated.username === me);
  document.getElementById("nut-roi").hidden = !(seated && seated.username === me);
  const number = document.getElementById("so-hien-tai");
  number.textContent = ticket ? ticket.number : "—";
  number.className = ticket ? "number" : "number empty";
  const details = document.getElementById("chi-tiet");
  if (ticket) {
    const since = data.floor ? data.floor.since : null;
    const parts = [
      el("span", { class: "area" }, ticket.area_name || names.areas[ticket.area] || ticket.area),
      ticket.priority && ticket.priority !== "none"
        ? el("span", { class: "priority" }, "★ Ưu tiên: ", names.priorities[ticket.priority] || ticket.priority)
        : el("span", { class: "muted" }, "Không thuộc diện ưu tiên"),
      channelPart(ticket),
      el("span", {}, TICKET_STATE[ticket.state] || ticket.state),
      el("span", {}, `Lấy số lúc ${clockTime(ticket.issued_at)}`),
      since ? el("span", {}, `Đã chờ ${minutesText(minutesSince(ticket.issued_at, since))}`) : "",
      el("span", {}, `Đã gọi ${count(ticket.calls)} lần`),
    ];
    details.replaceChildren(...parts);
  } else if (!data.known) {
    details.replaceChildren(el("span", { class: "error" }, "Quầy này không còn trong cấu hình của trung tâm."));
  } else {
    details.replaceChildren(el("span", { class: "muted" },
      state.status === "paused" ? "Quầy đang tạm nghỉ." : "Quầy đang trống. Bấm «Gọi tiếp» để gọi công dân tiếp theo."));
  }
  const rating = document.getElementById("danh-gia");
  if (state.rating) {
    rating.textContent = `Số ${state.rating.number}: đang chờ công dân đánh giá (đến ${clockTime(state.rating.until)}).`;
  } else if (state.last_rating) {
    rating.textContent = `Số ${state.last_rating.number}: công dân đánh giá «${levelName(names, state.last_rating.level)}».`;
  } else {
    rating.textContent = "";
  }
  renderDossiers(state.dossiers);
  document.getElementById("nut-nghi").hidden = state.status === "paused";
  document.getElementById("nut-tiep").hidden = state.status !== "paused";
  const select = document.getElementById("linh-vuc-chuyen");
  const targets = data.transfer_to.filter(([id]) => !ticket || id !== ticket.area);  // not where it is already
  if ([...select.options].map((o) => o.value).join() !== targets.map(([id]) => id).join()) {
    select.replaceChildren(...targets.map(([id, name]) => el("option", { value: id }, name)));
  }
  fill("cac-linh-vuc", data.areas.map((area) => {
    const waited = minutesSince(area.oldest_issued_at);
    const late = area.target_wait_s && waited !== null && waited * 60 > area.target_wait_s;
    return el("tr", { class: late ? "late" : "" }, el("td", {}, area.name), el("td", { class: "num" }, count(area.waiting)),
      el("td", { class: "num" }, count(area.priority_waiting)), el("td", { class: "num" }, minutesText(waited)),
      el("td", { class: "num" }, area.target_wait_s ? minutesText(Math.round(area.target_wait_s / 60)) : "—"));
  }));
}

function say(text, ok) {
  const message = document.getElementById("thong-bao");
  message.textContent = text;
  message.className = ok ? "message ok" : "message error";
}

// Whether the center did it; the page says what came of it either way. The page's commands go one at a time, in the
// order given (a code scanned right after N goes after the «Gọi tiếp» and to the citizen it calls); one is given up
// after SEND_LIMIT_MS (the console itself gives up after 4.5 s), so a lost request does not hold the next ones.
const SEND_LIMIT_MS = 10000;
let sending = Promise.resolve();

function act(action, fields) {
  const done = sending.then(() => send(action, fields));
  sending = done.catch(() => false);  // a command that failed in the page still lets the next ones go
  return done;
}

async function send(action, fields) {
  const page = document.querySelector(".counter-page");
  const body = new URLSearchParams({ action, ...fields });
  say("Đang gửi…", true);
  try {
    const response = await fetch(page.dataset.act, { method: "POST", body, credentials: "same-origin",
      signal: AbortSignal.timeout(SEND_LIMIT_MS),
      headers: { "X-CSRF-Token": document.querySelector("meta[name=csrf]").content } });
    const result = await response.json();
    if (response.status === 401) { window.location = "/dang-nhap"; return false; }
    if (!result.ok) { say(result.message, false); return false; }
    say(doneText(action, fields, result.answer.ticket), true);
    return true;
  } catch (error) {
    say("Không gửi được lệnh: mất kết nối với máy chủ của trang. Vui lòng thử lại.", false);
    return false;
  }
}

function doneText(action, fields, ticket) {
  if (action === "next" && !ticket) return "Không còn công dân nào đang chờ.";
  if (action === "dossier") {
    return fields.remove ? `Đã gỡ hồ sơ khỏi số ${ticket.number}.` : `Đã gắn hồ sơ cho số ${ticket.number}.`;
  }
  return "Đã thực hiện.";
}

// --- dossier codes (mã hồ sơ, issue 19) -----------------------------------------------------

// The ticket a scanned or typed code goes to (the counter's current one, else the one awaiting or just given its
// rating) and the codes it carries, each with «Gỡ»; redrawn only when they change (a focused «Gỡ» stays).
function renderDossiers(target) {
  const list = document.getElementById("cac-ho-so");
  const shown = target ? `${target.number}|${target.codes.join()}` : "";
  if (list.dataset.shown === shown) return;
  list.dataset.shown = shown;
  const head = document.getElementById("ho-so-cua-so");
  head.className = target ? "dossier-head" : "dossier-head muted";
  if (!target) {
    head.textContent = "Chưa có số nào để gắn hồ sơ: gọi công dân trước, rồi quét hoặc nhập mã hồ sơ.";
  } else {
    head.textContent = target.codes.length ? `Hồ sơ của số ${target.number}:` : `Số ${target.number} chưa có hồ sơ nào.`;
  }
  list.replaceChildren(...(target ? target.codes : []).map((code) => {
    const remove = el("button", { type: "button", class: "small warn", "aria-label": `Gỡ hồ sơ ${code}` }, "Gỡ");
    remove.addEventListener("click", () => act("dossier", { code, number: target.number, remove: "1" }));
    return el("li", {}, el("code", {}, code), remove);
  }));
}

// A keyboard-wedge barcode scanner on the official's PC types a code and Enter as a keyboard does, 1–20 ms a key
// (a capital's Shift included), but now and then slower: a wireless scanner, or one set with a delay between
// characters, may pause 100 ms or more inside a code (the kiosk's scanner allows 0.3 s). A person types 80 ms or
// more a key. So the page reads the keys in bursts:
// - a burst starts with two keys within SCAN_GAP_MS of each other, and goes on while each key follows the one
//   before within BURST_GAP_MS;
// - the Enter that ends a burst is the page's, not the browser's: it presses no focused button and sends no form.
//   With SCAN_MIN_LENGTH or more keys before it the burst is a scan, whose code is sent as a dossier (for the number
//   typed in «Cho số», if any); a shorter one is said to be a scan cut short;
// - a shortcut key (N, L, B, H, V, T, C, S) is held HOTKEY_DELAY_MS and dropped when another key follows within
//   SCAN_GAP_MS, and a key inside a burst is none: the letters of a scanned code call, finish or skip nobody. A
//   person does not notice 60 ms, and loses a shortcut only by pressing another key within 50 ms of it.
// In «Gọi số», «Cho số» or the area list a burst counts only from SCAN_MIN_LENGTH keys each within SCAN_GAP_MS (a
// person typing there is not cut off): the field then gets back what it held before the burst, and the code goes
// to the dossier as above. With «Mã hồ sơ» focused the scanner types into it and its Enter sends the form.
const SCAN_GAP_MS = 50;
const BURST_GAP_MS = 300;
const HOTKEY_DELAY_MS = 60;  // longer than SCAN_GAP_MS: a scan's next key always comes before the shortcut runs
const SCAN_MIN_LENGTH = 4;
const scan = { code: "", last: -Infinity, timer: null, shortcut: null, before: "" };

function shortcut(key) {
  if (key === "c") return () => document.getElementById("linh-vuc-chuyen").focus();
  if (key === "s") return () => document.getElementById("so-can-goi").focus();
  const buttons = () => [...document.querySelectorAll("button[data-key]")].filter((b) => b.dataset.key === key);
  if (!buttons().length) return null;
  return () => {  // which button holds the key is read when it runs ("T": pause or resume)
    const button = buttons().find((b) => !b.hidden);
    if (button) button.click();
  };
}

function holdShortcut(run) {
  scan.shortcut = run;
  scan.timer = setTimeout(runShortcut, HOTKEY_DELAY_MS);
}

function runShortcut() {
  const run = scan.shortcut;
  dropShortcut();
  if (run) run();
}

function dropShortcut() {
  clearTimeout(scan.timer);
  scan.timer = null;
  scan.shortcut = null;
}

// A scanned code goes to the number typed in «Cho số» (emptied once done, unless typed again meanwhile), else to
// the ticket the page lists the dossiers of.
async function sendScan(code) {
  const other = document.getElementById("ho-so-cho-so");
  const number = other.value.trim();
  if (await act("dossier", number ? { code, number } : { code }) && number && other.value.trim() === number) {
    other.value = "";
  }
}

function onKey(event) {
  if (event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
  const field = event.target.closest("input, select, textarea");
  if (field && field.id === "ma-ho-so") return;  // the scanner types into it; its Enter sends the form
  const enter = event.key === "Enter";
  if (!enter && event.key.length !== 1) return;  // Shift (a scanned capital's), Tab, arrows: neither a code's nor a shortcut
  const started = scan.code.length >= (field ? SCAN_MIN_LENGTH : 2);  // a burst under way: it may pause longer
  const inBurst = event.timeStamp - scan.last <= (started ? BURST_GAP_MS : SCAN_GAP_MS);
  if (enter) {
    const code = scan.code;
    scan.code = "";
    scan.last = -Infinity;
    if (!inBurst || (field && !started)) return;  // a person's Enter
    event.preventDefault();
    dropShortcut();
    if (code.length >= SCAN_MIN_LENGTH) sendScan(code); else say("Quét chưa trọn mã, vui lòng quét lại.", false);
    return;
  }
  scan.last = event.timeStamp;
  if (!inBurst) {  // maybe a person's key
    runShortcut();  // a shortcut pressed just over SCAN_GAP_MS before this key is a person's: done now
    scan.code = event.key;
    scan.before = field ? field.value : "";
    const run = field ? null : shortcut(event.key.toLowerCase());
    if (run) {
      event.preventDefault();
      holdShortcut(run);
    }
    return;
  }
  dropShortcut();  // a scanner's next key: the key before it was no shortcut
  scan.code += event.key;
  if (field && scan.code.length < SCAN_MIN_LENGTH) return;  // typed into the field, until surely a scan
  if (field && scan.code.length === SCAN_MIN_LENGTH) field.value = scan.before;  // its first keys out of the field
  event.preventDefault();
}

function wireCounter() {
  for (const button of document.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => {
      const seated = view.state && view.state.official;
      const me = document.querySelector(".counter-page").dataset.me;
      if (button.dataset.action === "sit" && seated && seated.username !== me
          && !window.confirm(`Quầy này đang do ${seated.name} nhận. Ông/Bà nhận thay?`)) return;
      act(button.dataset.action, {});
    });
  }
  for (const form of document.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const fields = Object.fromEntries(new FormData(form));
      const reset = "reset" in form.dataset;  // the dossier form: emptied when sent, for the next code to be typed
      if (reset) for (const name of Object.keys(fields)) form.elements[name].value = "";
      if (!await act(form.dataset.action, fields) && reset) {  // refused or not sent: back, to be corrected,
        for (const [name, value] of Object.entries(fields)) {  // where nothing was typed meanwhile
          if (form.elements[name].value === "") form.elements[name].value = value;
        }
      }
    });
  }
  document.addEventListener("keydown", onKey);
}

// --- the manager's floor --------------------------------------------------------------------

function renderFloor(data) {
  const names = data.names;
  const floor = data.floor || { counters: [], areas: [], devices: [], today: null };
  const alerts = [];
  const today = floor.today;
  const figures = today ? [
    ["Số phiếu đã cấp", count(today.issued)], ["Đang chờ", count(today.waiting)], ["Đã phục vụ", count(today.served)],
    ["Vắng mặt", count(today.missed)],
    ["Chờ trung bình", today.mean_wait_s === null ? "—" : minutesText(Math.round(today.mean_wait_s / 60))],
    ["90 % công dân chờ không quá", today.p90_wait_s === null ? "—" : minutesText(Math.round(today.p90_wait_s / 60))],
    ["Gọi trong thời gian mục tiêu", percent(today.within_target)], ["Hài lòng trở lên", percent(today.satisfied)],
  ] : [["Chưa có số liệu", "—"]];
  document.getElementById("hom-nay").replaceChildren(...figures.map(([label, value]) =>
    el("div", { class: "figure" }, el("span", { class: "value" }, value), el("span", { class: "label" }, label))));
  const floorCounters = Object.fromEntries(floor.counters.map((c) => [c.id, c]));
  fill("cac-quay", Object.entries(names.counters).map(([id, name]) => {
    const state = data.counters[id] || { status: "idle", ticket: null };
    const summary = floorCounters[id] || {};
    const official = state.official || summary.official;
    return el("tr", { class: state.status }, el("td", {}, name), el("td", {}, official ? official.name : "—"),
      el("td", {}, STATUS[state.status] || state.status), el("td", { class: "num big" }, state.ticket ? state.ticket.number : "—"),
      el("td", {}, summary.since ? `${clockTime(summary.since)} (${minutesText(minutesSince(summary.since))})` : "—"),
      el("td", { class: "num" }, count(summary.served)));
  }));
  fill("cac-linh-vuc", floor.areas.map((area) => {
    const waited = minutesSince(area.oldest_issued_at);
    const late = area.target_wait_s && waited !== null && waited * 60 > area.target_wait_s;
    if (late) alerts.push(`${area.name}: có công dân đã chờ ${minutesText(waited)}, quá thời gian mục tiêu.`);
    return el("tr", { class: late ? "late" : "" }, el("td", {}, area.name, area.open === false ? " (đang đóng)" : ""),
      el("td", { class: "num" }, count(area.waiting)), el("td", { class: "num" }, minutesText(waited)),
      el("td", { class: "num" }, area.target_wait_s ? minutesText(Math.round(area.target_wait_s / 60)) : "—"),
      el("td", { class: "num" }, count(area.served)),
      el("td", { class: "num" }, count(area.missed)));
  }));
  fill("thiet-bi", floor.devices.map((device) => {
    const printer = device.printer;
    if (!device.online) alerts.push(`Thiết bị ${device.id} mất kết nối${device.since ? ` từ ${clockTime(device.since)}` : ""}.`);
    if (device.online && PRINTER_PROBLEMS.has(printer)) alerts.push(`Máy in của ${device.id}: ${PRINTER[printer]}.`);
    return el("tr", { class: device.online ? "" : "late" }, el("td", {}, device.id),
      el("td", {}, device.online ? "Đang kết nối" : "Mất kết nối", device.since ? ` từ ${clockTime(device.since)}` : ""),
      el("td", {}, printer ? (PRINTER[printer] || printer) : "—"));
  }));
  document.getElementById("canh-bao").replaceChildren(...alerts.map((text) => el("p", { class: "alert" }, text)));
}

// --- both -----------------------------------------------------------------------------------

function render() {
  if (!view) return;
  zone = (view.names && view.names.timezone) || zone;
  document.getElementById("mat-ket-noi").hidden = view.connected;
  if (view.kind === "counter") renderCounter(view); else renderFloor(view);
}

function take(data) {
  view = data;
  serverOffset = Date.parse(data.now) - Date.now();
}

function follow(url) {
  const source = new EventSource(url);
  source.onmessage = (event) => { take(JSON.parse(event.data)); render(); };
  source.addEventListener("het-phien", () => { source.close(); window.location = "/dang-nhap"; });
  source.onerror = () => { document.getElementById("mat-ket-noi").hidden = false; };
}

document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("du-lieu");
  const page = document.querySelector("[data-stream]");
  if (!data || !page) return;
  take(JSON.parse(data.textContent));
  if (view.kind === "counter") wireCounter();
  render();
  follow(page.dataset.stream);
  setInterval(render, 30000);  // the waits grow while nothing changes
});

// How the citizen came (issue 18): a booked slot, a remote number, or a booking checked in too late.
// The CCCD's last digits of the booking are for the official to compare with the citizen's card.
function channelPart(ticket) {
  const card = ticket.id_tail ? ` · đối chiếu CCCD có 4 số cuối ${ticket.id_tail}` : "";
  if (ticket.channel === "booked" && ticket.slot_start && ticket.slot_end) {
    return el("span", { class: "booked" },
      `Lịch hẹn ${clockTime(ticket.slot_start)}–${clockTime(ticket.slot_end)}${card}`);
  }
  if (ticket.channel === "remote") return el("span", { class: "booked" }, `Số lấy từ xa${card}`);
  if (ticket.booking) return el("span", { class: "muted" }, "Có lịch hẹn nhưng đến muộn: số thường");
  return "";
}
