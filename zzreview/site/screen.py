"""The screen edition, made for phones first (hooked into Sphinx by sphinxext.py).

- Each chart is a <picture>: the narrow rendering (drawn for a phone, not shrunk; a WebP at twice a
  phone's width, a third of its SVG's weight) on screens up to NARROW_MAX_PX wide, the print one
  above; both keep their room (width, height) and load lazily.
- Wide tables (metrics, derived figures, data dictionary, chart data) carry their column names
  on every cell (data-label), so the CSS can stack each row as a card on a phone.
- Code toggles hold spans, not paragraphs, in their <summary> (valid HTML).
- The site is light: the theme's 1.5 MB icon script is replaced by the few icons the pages use,
  search tools load on the search page only, and files no page uses are not published
  (source maps, icon fonts, the theme's unrendered template files).
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
from pathlib import Path

import tinycss2

from zzreview import paths
from zzreview.downloads.cite import href

NARROW_MAX_PX = 700  # a phone or a narrow window; the print drawing's small type would shrink below 11 px
CARD_TABLES = ("metrics-table", "derived-table", "zz-cards")

FIGURE_IMG = re.compile(r'<img alt="(?P<alt>[^"]*)" src="(?P<up>(?:\.\./)*)_images/(?P<id>fig-[a-z0-9-]+)\.svg"'
                        r' style="width: 100%;" />')
SUMMARY_P = re.compile(r'<p class="(?P<cls>(?:collapsed|expanded) admonition-title)">(?P<text>[^<]*)</p>')
TABLE = re.compile(r"<table\b.*?</table>", re.S)


# Assets Jupyter Book adds to every page that no page of this book uses (no design components,
# no live code: thebe is off); a test checks that no page has their classes.
UNUSED_ASSETS = ("sphinx-design.min.css", "design-tabs.js", "sphinx-thebe.css", "sphinx-thebe.js")


def page_markup(app, pagename, templatename, context, doctree):
    """html-page-context: rewrite the page body for screens (see the module's notes)."""
    for key in ("css_files", "script_files"):
        if key in context:
            context[key] = [a for a in context[key] if Path(str(getattr(a, "filename", a))).name not in UNUSED_ASSETS]
    body = context.get("body")
    if not body:
        return
    body = FIGURE_IMG.sub(lambda m: _picture(m, pagename), body)
    body = re.sub(r'(<img alt="图 [^"]*的缩略图[^"]*" src="[^"]*")', r'\1 loading="lazy"', body)
    body = re.sub(r"<summary([^>]*)>(.*?)</summary>",
                  lambda m: f"<summary{m.group(1)}>{SUMMARY_P.sub(_span, m.group(2))}</summary>", body, flags=re.S)
    context["body"] = _label_cells(body)


def _picture(m: re.Match, pagename: str) -> str:
    return picture(pagename, m.group("id"), m.group("alt"), f'{m.group("up")}_images/{m.group("id")}.svg', lazy=True)


def picture(pagename: str, fig_id: str, alt_html: str, svg_src: str, lazy: bool) -> str:
    """Both drawings with their width and height (the browser keeps their room before they load,
    so a link to the figure lands on it): the phone drawing on a phone, the print one elsewhere."""
    narrow = href(pagename, f"figures/{fig_id}.narrow.webp")  # the phone drawing, light (figures.SCREEN_PX)
    loading = ' loading="lazy"' if lazy else ""
    return (f'<picture><source media="(max-width: {NARROW_MAX_PX}px)" srcset="{narrow}" '
            f'{size_attributes(fig_id + ".narrow")} />'
            f'<img alt="{alt_html}" src="{svg_src}" {size_attributes(fig_id)}{loading} '
            f'decoding="async" style="width: 100%;" /></picture>')


def size_attributes(name: str, width: int | None = None) -> str:
    """width and height attributes from a drawing's SVG (its viewBox, in points), or scaled to `width`."""
    svg = paths.generated_dir() / "figures" / f"{name}.svg"
    head = svg.read_text(encoding="utf-8")[:2000] if svg.is_file() else ""
    box = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', head)
    if not box:
        return ""
    w, h = float(box[1]), float(box[2])
    scale = width / w if width else 1.0
    return f'width="{round(w * scale)}" height="{round(h * scale)}"'


def _span(m: re.Match) -> str:
    return f'<span class="{m.group("cls")}">{m.group("text")}</span>'


def _label_cells(body: str) -> str:
    """Give every cell of a card table its column's name (data-label)."""
    out, last = [], 0
    for m in TABLE.finditer(body):
        before = body[max(0, m.start() - 400):m.start()]
        if not any(f"{name} " in before or f'{name}"' in before for name in CARD_TABLES):
            continue
        out += [body[last:m.start()], _labelled(m.group(0))]
        last = m.end()
    return "".join(out) + body[last:]


def _labelled(table: str) -> str:
    heads = [html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
             for h in re.findall(r"<th\b[^>]*>(.*?)</th>", table, re.S)]

    def row(m: re.Match) -> str:
        cells = iter(heads)
        return re.sub(r"<td\b", lambda c: f'<td data-label="{html.escape(next(cells, ""), quote=True)}"', m.group(0))

    return re.sub(r"<tr\b.*?</tr>", row, table, flags=re.S)


# --- a light site -----------------------------------------------------------------------------

SEARCH_TOOLS = re.compile(r'\s*<script src="(?:\.\./)*(?:_static/searchtools\.js|_static/language_data\.js|'
                          r'searchindex\.js)"></script>')
ICON = re.compile(r"\bfa-([a-z0-9-]+)")
TOC_TOGGLE = re.compile(r'(<details(?: open="open")?>)<summary><span class="toctree-toggle"')
ICON_DEFINITION = r'[{{,](?:"{name}"|{name}):\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+","(M[^"]+)"\]'  # key quoted or not
UNUSED = ("**/*.map", "_static/vendor/fontawesome/webfonts", "_static/webpack-macros.html",
          "_static/sbt-webpack-macros.html")
ICON_SCRIPT = """/* The icons the book's pages use, drawn as inline SVG (generated by zzreview/site/screen.py from the
   theme's Font Awesome script, which weighs 1.5 MB for a handful of icons). */
(() => {{
  const icons = {icons};
  const draw = () => document.querySelectorAll("i[class*='fa-'], span[class*='fa-']").forEach((i) => {{
    const name = [...i.classList].map((c) => c.slice(3)).find((c) => icons[c]);
    if (!name) return;
    const [w, h, d] = icons[name];
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    for (const a of i.attributes) if (a.name !== "class") svg.setAttribute(a.name, a.value);  // data-mode …
    svg.setAttribute("viewBox", `0 0 ${{w}} ${{h}}`);
    svg.setAttribute("class", `svg-inline--fa ${{i.className}}`);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", d);
    svg.appendChild(path);
    i.replaceWith(svg);
  }});
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
}})();
"""


def slim_site(app, exception):
    """build-finished: the site without what its pages do not use."""
    if exception or app.builder.format != "html":
        return
    out = Path(app.outdir)
    # from the theme's own files: a run that wrote no page (Sphinx then copies no static file)
    # would otherwise slim what an earlier run slimmed
    for theme_dir in reversed(app.builder.theme.get_theme_dirs()):
        for rel in THEME_FILES:
            if (Path(theme_dir) / "static" / rel).is_file():
                shutil.copyfile(Path(theme_dir) / "static" / rel, out / "_static" / rel)
    pages = [p for p in out.rglob("*.html") if "_static" not in p.parts]
    used = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # the theme's navigation toggles get a name (axe: a <summary> without one is serious)
        slim = TOC_TOGGLE.sub(r'\1<summary aria-label="展开或折叠本章各节"><span class="toctree-toggle"', text)
        if page.name != "search.html":  # the search page loads its tools itself
            slim = SEARCH_TOOLS.sub("", slim)
        if slim != text:
            page.write_text(slim, encoding="utf-8")
        used |= set(ICON.findall(text))
    script = out / "_static" / "scripts" / "fontawesome.js"
    if script.exists():
        script.write_text(_icon_script(script.read_text(encoding="utf-8"), used), encoding="utf-8")
    toggles = out / "_static" / "togglebutton.js"  # its buttons are named in English
    if toggles.exists():
        toggles.write_text(toggles.read_text(encoding="utf-8").replace(
            'aria-label="Toggle hidden content"', 'aria-label="展开或收起这一部分"'), encoding="utf-8")
    _prune_stylesheets(out, pages, Path(app.doctreedir) / "zz-css")
    for pattern in UNUSED:
        for path in sorted(out.glob(pattern), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


STYLESHEETS = ("_static/styles/pydata-sphinx-theme.css", "_static/styles/sphinx-book-theme.css", "_static/mystnb.*.css")
THEME_FILES = ("scripts/fontawesome.js", "styles/pydata-sphinx-theme.css", "styles/sphinx-book-theme.css")


def _prune_stylesheets(out: Path, pages: list[Path], memo: Path) -> None:
    """Drop the theme's CSS rules that can match nothing in this site: a selector is kept unless it
    names a class or id that no page and no script of the site mentions (what JavaScript may add
    later is among the scripts' words, so it is kept). Results are kept in `memo` by the hash of
    the sheet and the words (parsing the theme's CSS is most of the cost of a small rebuild)."""
    words = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for attr in re.findall(r'\b(?:class|id)="([^"]*)"', text):
            words |= set(attr.split())
    for script in out.rglob("*.js"):
        if script.name == "searchindex.js":  # the text's words, which no script makes classes of
            continue  # (and which change with every edit of the prose, unlike the vocabulary)
        words |= set(re.findall(r"[A-Za-z_][\w-]*", script.read_text(encoding="utf-8", errors="replace")))
    vocabulary = hashlib.sha256("\n".join(sorted(words)).encode()).hexdigest()
    memo.mkdir(parents=True, exist_ok=True)
    used = set()
    for pattern in STYLESHEETS:
        for sheet in out.glob(pattern):
            css = sheet.read_text(encoding="utf-8")
            kept = memo / (hashlib.sha256((vocabulary + css).encode()).hexdigest() + ".css")
            if not kept.exists():
                tmp = kept.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(prune_css(css, words), encoding="utf-8")
                os.replace(tmp, kept)
            shutil.copyfile(kept, sheet)
            used.add(kept)
    for old in set(memo.glob("*.css")) - used:  # results no stylesheet of this build asked for
        old.unlink(missing_ok=True)


def prune_css(css: str, words: set[str]) -> str:

    return "".join(_kept(rule, words) for rule in tinycss2.parse_stylesheet(css, skip_comments=True,
                                                                            skip_whitespace=True))


def _kept(rule, words: set[str]) -> str:

    if rule.type == "qualified-rule":
        selectors = [s for s in _split_selectors(tinycss2.serialize(rule.prelude)) if _may_match(s, words)]
        return ",".join(selectors) + "{" + tinycss2.serialize(rule.content) + "}" if selectors else ""
    if rule.type == "at-rule":
        if rule.lower_at_keyword in ("media", "supports", "layer", "container") and rule.content is not None:
            inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
            body = "".join(_kept(r, words) for r in inner)
            return f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{body}}}" if body else ""
        text = tinycss2.serialize([rule])
        if rule.lower_at_keyword == "font-face" and "Font Awesome" in text:
            return ""  # its font files are not shipped: the few icons are inline SVG
        return text  # @font-face, @keyframes, @charset … as they are
    return ""


def _split_selectors(prelude: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in prelude:
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [p for p in [*parts, current.strip()] if p]


def _may_match(selector: str, words: set[str]) -> bool:
    """False only when the selector needs a class or id the site never uses (what is inside
    :not(), :is(), :where() or :has() decides nothing here)."""
    plain = re.sub(r":(?:not|is|where|has)\((?:[^()]|\([^()]*\))*\)", "", selector)
    plain = re.sub(r"\[[^\]]*\]", "", plain)  # attribute values are not classes
    return all(name in words for name in re.findall(r"[.#](-?[A-Za-z_][\w-]*)", plain))


def _icon_script(fontawesome: str, names: set[str]) -> str:
    icons = {}
    for name in sorted(names):
        m = re.search(ICON_DEFINITION.format(name=re.escape(name)), fontawesome)
        if m:
            icons[name] = [int(m.group(1)), int(m.group(2)), m.group(3)]
    return ICON_SCRIPT.format(icons=json.dumps(icons, separators=(",", ":"), sort_keys=True))
