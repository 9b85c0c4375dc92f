// Citations (zzreview/site/sphinxext.py writes them): put in this page's own absolute address where
// the build could only give one relative to the site, the reader's date as GB/T 7714's access
// date, and a copy button per style. Without scripts the static text stays as it is.
(function () {
  "use strict";
  function today() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }
  function copyByHand(text) {  // no clipboard API (a page opened from a file, an old browser)
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
  function fill() {
    for (const el of document.querySelectorAll(".zz-url[data-href]")) {
      el.textContent = new URL(el.dataset.href, window.location.href).href;
    }
    for (const el of document.querySelectorAll(".zz-cite-text .zz-date")) {
      el.textContent = `[${today()}]`;
    }
    for (const button of document.querySelectorAll("button.zz-copy")) {
      const text = button.closest(".zz-cite-style").querySelector(".zz-cite-text");
      button.hidden = false;
      button.addEventListener("click", async () => {
        let done = false;
        try {
          await navigator.clipboard.writeText(text.textContent);
          done = true;
        } catch (err) {
          done = copyByHand(text.textContent);
        }
        button.textContent = done ? "已复制" : "请手动选择复制";
        setTimeout(() => { button.textContent = "复制"; }, 2500);
      });
    }
  }
  // 执行记录: the table of executions.json (the HTML build writes it, zzreview/site/sphinxext.py).
  async function executions() {
    const box = document.querySelector(".zz-executions[data-src]");
    if (!box) return;
    const src = new URL(box.dataset.src, window.location.href);
    let record;
    try {
      record = await (await fetch(src)).json();
    } catch (err) {
      return;  // opened from a file: the link to the JSON stays
    }
    const heads = ["笔记本", "本次构建", "最近一次运行（UTC）", "用时（秒）", "结果"];
    const table = document.createElement("table");
    table.className = "table";
    const when = document.createElement("p");  // not a <caption>: a phone shows the table as cards
    when.textContent = `本次构建于 ${record.built_at.replace("T", " ").replace("+00:00", "")}（UTC）。`;
    const head = table.createTHead().insertRow();
    for (const text of heads) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const ch of record.chapters) {
      const row = body.insertRow();
      const page = new URL(`${ch.notebook}.html`, new URL(".", src));
      const cells = [null, ch.status === "ran" ? "重新运行" : "取自缓存",
        ch.ran_at ? ch.ran_at.replace("T", " ").replace("+00:00", "") : "不详",
        ch.seconds == null ? "不详" : ch.seconds.toFixed(1), ch.succeeded ? "成功" : "失败"];
      cells.forEach((text, i) => {
        const td = row.insertCell();
        td.dataset.label = heads[i];
        if (i === 0) {
          const a = document.createElement("a");
          a.href = page.href;
          a.textContent = ch.notebook;
          td.appendChild(a);
        } else {
          td.textContent = text;
        }
      });
    }
    const cards = document.createElement("div");
    cards.className = "zz-cards";
    cards.appendChild(table);
    box.replaceChildren(when, cards);
  }
  function start() {
    fill();
    executions();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// Folds (zz-fold): open on a wide screen; a link into a closed one opens it (browsers that do not
// open <details> on arriving at a fragment inside it).
(function () {
  "use strict";
  const wide = window.matchMedia("(min-width: 992px)");
  function openFor(target) {
    for (let el = target; el; el = el.parentElement) if (el.tagName === "DETAILS") el.open = true;
  }
  function arrive() {
    if (!location.hash) return;
    const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) { openFor(target); target.scrollIntoView(); }
  }
  function start() {
    if (wide.matches) for (const d of document.querySelectorAll("details.zz-fold")) d.open = true;
    if (location.hash) openFor(document.getElementById(decodeURIComponent(location.hash.slice(1))));
    window.addEventListener("hashchange", arrive);
    window.addEventListener("beforeprint", () => {
      for (const d of document.querySelectorAll("details.zz-fold")) d.open = true;
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
