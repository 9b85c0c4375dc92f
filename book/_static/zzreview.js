// Citations (zzreview/site/sphinxext.py writes them): the reader's date as GB/T 7714's access
// date, a copy button per style, and, where the book's public address is unknown to the build, the
// page's own root address, but only when the page was served from a public http(s) address (never
// a file, localhost or a private network's): otherwise the text keeps 网址不详. Without scripts the
// static text stays as it is.
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
  const LOCAL = /^(localhost|.*\.localhost|.*\.local|127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|169\.254\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+|0\.0\.0\.0|\[.*\])$/;
  function publicRoot(rel) {
    const root = new URL(rel, window.location.href);
    const served = root.protocol === "https:" || root.protocol === "http:";
    return served && !LOCAL.test(root.hostname) ? root.href : null;
  }
  function fill() {
    for (const el of document.querySelectorAll(".zz-cite-text")) {
      const root = el.dataset.template ? publicRoot(el.dataset.root) : null;
      const text = root ? el.dataset.template.split("@@ROOT@@").join(root) : el.textContent;
      el.textContent = text.split("[引用日期]").join(`[${today()}]`);
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
  // 执行记录: the build writes a row per chapter (zzreview/site/sphinxext.py); what varies from
  // build to build comes from executions.json, which the HTML build writes beside the pages.
  async function executions() {
    const box = document.querySelector(".zz-executions[data-src]");
    if (!box) return;
    let record;
    try {
      record = await (await fetch(new URL(box.dataset.src, window.location.href))).json();
    } catch (err) {
      return;  // opened from a file: the link to the JSON stays
    }
    const when = (iso) => iso.replace("T", " ").replace("+00:00", "");
    box.querySelector(".zz-built-at").textContent = when(record.built_at);
    for (const ch of record.chapters) {
      const row = box.querySelector(`tr[data-notebook="${CSS.escape(ch.notebook)}"]`);
      if (!row) continue;
      const texts = [ch.status === "ran" ? "重新运行" : "取自缓存", ch.ran_at ? when(ch.ran_at) : "不详",
        ch.seconds == null ? "不详" : ch.seconds.toFixed(1), ch.succeeded ? "成功" : "失败"];
      texts.forEach((text, i) => { row.cells[i + 1].textContent = text; });
    }
    box.dataset.filled = "";
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
