// Citations (zzreview/sphinxext.py writes them): put in this page's own absolute address where
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
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fill);
  } else {
    fill();
  }
})();
