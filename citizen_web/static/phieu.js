// The ticket's page, kept live from the server's events (Server-Sent Events). No library; the page works without it.
"use strict";

const page = document.getElementById("phieu");
const token = page.dataset.token;
const choice = document.getElementById("con-lai");
const noticeKey = `bao-truoc:${token}`;
let warnedAt = null;  // the number ahead when the citizen was last warned
let calledTimes = 0;  // calls already announced
let audio = null;

function text(id, value) {
  document.getElementById(id).textContent = value || "";
}

function beep() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const start = audio.currentTime;
    for (let i = 0; i < 3; i += 1) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.3, start + i * 0.4);
      gain.gain.setValueAtTime(0, start + i * 0.4 + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + i * 0.4);
      tone.stop(start + i * 0.4 + 0.3);
    }
  } catch (e) { /* no sound on this phone */ }
}

function alertCitizen() {
  if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
  beep();
}

function render(view) {
  page.className = view.state;
  text("truoc", view.before);
  text("lon", view.big);
  text("sau", view.after);
  document.getElementById("ghi-chu").replaceChildren(...(view.notes || []).map((note) => {
    const item = document.createElement("li");
    item.textContent = note;
    return item;
  }));
  document.getElementById("danh-gia").hidden = !(view.rating && view.rating.open);
  document.getElementById("mat-ket-noi").hidden = !view.offline;
  document.getElementById("bao-truoc").hidden = view.state !== "waiting";
  if (view.number) document.title = view.state === "called" ? `Mời đến ${view.big} – số ${view.number}`
    : `Số ${view.number}`;
  // as of the center's last change, on its clock (as every time on the page)
  text("cap-nhat", view.updated ? `Tình hình lúc ${view.updated}` : "Đang theo dõi");
  const wanted = Number(choice.value);
  const near = view.state === "waiting" && wanted > 0 && view.ahead !== null && view.ahead <= wanted;
  if (near && warnedAt === null) {
    warnedAt = view.ahead;
    alertCitizen();
  }
  const remind = document.getElementById("nhac");  // said as well as rung: a phone on silent, a deaf citizen
  remind.hidden = !near;
  remind.textContent = near ? (view.ahead === 0 ? "Ông/Bà là người tiếp theo: vui lòng đến gần khu vực quầy."
    : `Chỉ còn ${view.ahead} người phía trước Ông/Bà: vui lòng đến gần khu vực quầy.`) : "";
  if (view.state === "called" && view.calls > calledTimes) {
    calledTimes = view.calls;
    alertCitizen();
  }
}

choice.value = localStorage.getItem(noticeKey) || "0";
choice.addEventListener("change", () => {
  localStorage.setItem(noticeKey, choice.value);
  warnedAt = null;
  beep();  // a touch lets the page make sound later (browsers allow audio only after one)
});

function follow(delay) {
  const events = new EventSource(`/phieu/${token}/luong`);
  events.onmessage = (event) => {
    delay = 2000;
    render(JSON.parse(event.data));
    window.dangTheoDoi = true;  // followed live (what the tests wait for)
  };
  events.addEventListener("xong", () => events.close());  // nothing more to follow, or a newer page follows it
  events.onerror = () => {
    document.getElementById("mat-ket-noi").hidden = false;
    if (events.readyState === EventSource.CLOSED) {  // refused (busy): the browser gives up, so try again later
      setTimeout(() => follow(Math.min(delay * 2, 60000)), delay * (1 + Math.random()));
    }
  };
}

document.getElementById("bao-truoc").hidden = !page.classList.contains("waiting");
follow(2000);
