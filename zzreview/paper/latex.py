"""The PDF edition, part 1: shape Sphinx's LaTeX document (zzreview/paper/pdf.py typesets it).

- `setup(app)` (from the book's Sphinx extension) shapes the one big LaTeX document as a book:
  导读 unnumbered in front, a 正文 part with the numbered chapters (so a figure is 图 1.3 in the
  PDF exactly as in the HTML), then the appendices (附录 A, B, …). Code inputs are left out: the
  PDF is for reading; the notebooks are downloadable from the HTML.
- The title page and the PDF's metadata come from the data package and the build's version;
  the typography lives in book/_latex/zzreview.sty (listed in _config.yml).
- Tables get column widths fit for paper; headline halves keep their space.
"""
from __future__ import annotations

import functools
import re
import subprocess
import unicodedata

from docutils import nodes
from sphinx import addnodes
from sphinx.util.texescape import escape as tex

from zzreview import meta, paths
from zzreview.dataset.quantity import when_text
from zzreview.downloads import cite
from zzreview.newspaper.structure import page

# xeCJK drops a typed space between two Chinese characters, but such a space means something:
# it separates a headline's halves, two names in a byline, a slogan's halves. On paper it becomes
# an ideographic space (soft line breaks were removed when the page was read: sphinxext).
CJK_SPACE = re.compile(r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef“”‘’])[ \t]+"
                       r"(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef“”‘’])")


def _raw(latex: str) -> nodes.raw:
    return nodes.raw("", latex + "\n", format="latex")


def _part_opening(caption: str, numbered: bool, appendix: bool) -> nodes.raw:
    """A part is a line in the contents and a bookmark, not a page of its own."""
    latex = [r"\cleardoublepage"]
    if appendix:
        latex.append(r"\appendix")
    # chapters (and their sections, as in the HTML) numbered; headings inside a page are not
    latex.append(r"\setcounter{secnumdepth}{%d}" % (1 if numbered and not appendix else 0))
    latex.append(r"\phantomsection\addcontentsline{toc}{part}{%s}" % tex(caption))
    return _raw("\n".join(latex))


def restructure(app, doctree, docname) -> None:
    """Rebuild the assembled LaTeX document: front matter, the parts, the appendices."""
    if app.builder.name != "latex" or docname != app.config.root_doc:
        return
    front = next(iter(doctree.findall(nodes.section)))  # the root page, 导读
    parts = cite.toc_parts()
    top_level = {chapter["file"] for part in parts for chapter in part["chapters"]}
    wrappers = [c for c in front.findall(nodes.compound)  # the root's toctrees, inlined
                if any(isinstance(x, addnodes.start_of_file) and x["docname"] in top_level
                       for x in c.children)]
    chapters = {sof["docname"]: sof for w in wrappers for sof in w.children
                if isinstance(sof, addnodes.start_of_file)}
    holders = {id(w.parent): w.parent for w in wrappers}
    for wrapper in wrappers:
        wrapper.parent.remove(wrapper)
    for holder in holders.values():  # the section that held the toctrees: its list is the 目录
        if isinstance(holder, nodes.section) and holder is not front:
            holder.parent.remove(holder)

    book = nodes.section()
    book += nodes.title("", meta.book_title())  # taken by the writer as the document's title
    book += _raw(r"\setcounter{secnumdepth}{-1}")  # 导读: an unnumbered chapter
    book += front
    for i, part in enumerate(parts):
        appendix = i == len(parts) - 1 and len(parts) > 1
        book += _part_opening(part["caption"], bool(part.get("numbered")), appendix)
        for chapter in part["chapters"]:
            book += chapters.pop(chapter["file"])
    if chapters:
        raise RuntimeError(f"这些章节没有排进 PDF：{'、'.join(sorted(chapters))}")
    doctree.children = []
    doctree += book
    _for_paper(doctree)


def _for_paper(doctree) -> None:
    """What differs from the screen: no code, tables sized for the page, figures with their id."""
    for cell_input in list(doctree.findall(lambda n: isinstance(n, nodes.container)
                                           and "cell_input" in n.get("classes", []))):
        cell_input.parent.remove(cell_input)
    for ref in list(doctree.findall(nodes.reference)):  # a marked number or a link back: its text
        if {"zz-fact", "zz-nonfact", "zz-back"} & set(ref["classes"]):
            ref.replace_self(nodes.inline("", "", *ref.children))
    for table in doctree.findall(nodes.table):
        _fit_columns(table)
    _unbroken(doctree)
    for note in list(doctree.findall(lambda n: isinstance(n, nodes.paragraph)
                                     and "zz-cite-pdf" in n.get("classes", []))):
        _into_figure(note)
    for text in list(doctree.findall(nodes.Text)):
        if isinstance(text.parent, (nodes.literal, nodes.literal_block, nodes.raw)):
            continue
        spaced = CJK_SPACE.sub("\u3000", text)
        if spaced != text:
            text.parent.replace(text, nodes.Text(spaced))


def _into_figure(note: nodes.paragraph) -> None:
    """The figure's id and citation line go inside its figure, as a legend: a page break never
    separates them from the chart."""
    siblings = note.parent.children
    figure = next((n for n in reversed(siblings[:siblings.index(note)]) if isinstance(n, nodes.figure)), None)
    if figure is None:
        return
    note.parent.remove(note)
    figure += nodes.legend("", note)


LINE_EM = 41.0  # the text width (160 mm) in ems of the 11 pt body font
PAD_EM = 1.1  # a column's padding (2 × \tabcolsep = 12 pt)
LONG_TABLE_ROWS = 8
LATIN_TOKEN = re.compile(r"[!-,.-~]+-?")  # ids break after a hyphen (zzreview.sty)


# A date, a number with its unit (and the bound before it), a byline's name: one box on paper
# (xeCJK may break between any two Chinese characters, or a digit and one)
UNBREAKABLE = re.compile(r"(?:[≥≤≈<] |约 ?)?(?:(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:\d{1,2}时(?:\d{1,2}分)?)?"
                         r"|\d[\d,.]*(?: ?(?:%|[\u4e00-\u9fff]{1,2}(?:/[\u4e00-\u9fff]{1,2})?))?)")


@functools.cache
def _unbreakable() -> re.Pattern:
    names = {n for art in page().articles for n in cite.byline_authors(art.byline)}  # “姚珠敏”
    return re.compile("|".join([*map(re.escape, sorted(names, key=len, reverse=True)), UNBREAKABLE.pattern]))


def _unbroken(doctree) -> None:
    """No line breaks after ≥, inside a date, between a number and its unit, or inside a name: each
    is an \\mbox (not in titles: a title is also a PDF bookmark, where a box is no text)."""
    for text in list(doctree.findall(nodes.Text)):
        if any(isinstance(a, (nodes.literal, nodes.literal_block, nodes.raw, nodes.title, nodes.subtitle))
               for a in ancestors(text)):
            continue
        pieces, last, value = [], 0, str(text)
        for m in _unbreakable().finditer(value):
            if m.group(0)[0].isdigit() and " " not in m.group(0) and not re.search(r"\d\D", m.group(0)):
                continue  # a bare number: nothing to keep together
            pieces += [nodes.Text(value[last:m.start()]), nodes.raw("", r"\mbox{%s}" % tex(m.group(0)), format="latex")]
            last = m.end()
        if pieces:
            pieces.append(nodes.Text(value[last:]))
            text.parent.replace(text, [p for p in pieces if not isinstance(p, nodes.Text) or str(p)])


def ancestors(node):
    """A doctree node's parents, nearest first."""
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def _ems(text: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55 for ch in text)


def _fit_columns(table: nodes.table) -> None:
    """Column widths for paper, as a browser's automatic table layout would give them: each
    column between its longest unbreakable word and its longest cell. (LaTeX's tabulary packs
    Chinese, which has no spaces, into columns one character wide.)"""
    tgroup = next(iter(table.findall(nodes.tgroup)), None)
    if tgroup is None or "colwidths-given" in table["classes"]:
        return
    colspecs = [c for c in tgroup.children if isinstance(c, nodes.colspec)]
    longest, widest_word = [0.0] * len(colspecs), [0.0] * len(colspecs)
    for row in tgroup.findall(nodes.row):
        for i, entry in enumerate(e for e in row.children if isinstance(e, nodes.entry)):
            if i >= len(colspecs):
                break
            text = entry.astext()
            longest[i] = max(longest[i], _ems(text))
            words = LATIN_TOKEN.findall(text) + re.findall(r"[^!-~\s]{1,4}", text)
            boxes = [_ems(b) for b in UNBREAKABLE.findall(text)]
            widest_word[i] = max([widest_word[i], *(_ems(w) for w in words), *boxes])
            longest[i] = max([longest[i], *boxes])
    room = LINE_EM - PAD_EM * len(colspecs)  # less the padding between columns
    # LaTeX can still break a long code or pattern at / . , ; | and after hyphens: no column need
    # be wider than a quarter of the line for one "word"
    low = [min(n, max(min(w, room / 4), 2.0)) for n, w in zip(longest, widest_word)]
    if sum(longest) <= room:
        widths = longest
    elif sum(low) >= room:
        widths = low
    else:
        widths = _share_out(room, low, longest)
    for colspec, width in zip(colspecs, widths):  # Sphinx's \X{w}{total} includes the padding
        colspec["colwidth"] = max(1, round((width + PAD_EM) * 10))
    table["classes"].append("colwidths-given")
    if len(list(tgroup.findall(nodes.row))) > LONG_TABLE_ROWS:
        table["classes"].append("longtable")  # may break across pages instead of leaving a gap


def _share_out(room: float, low: list[float], high: list[float]) -> list[float]:
    """Give each column its minimum, then the rest of the line in proportion to the square root of
    what it still wants (a column of long text should not starve one of medium text), never more
    than its longest cell."""
    widths, free = list(low), set(range(len(low)))
    while free and room - sum(widths) > 1e-6:
        weights = {i: (high[i] - widths[i]) ** 0.5 for i in free}
        total, spare = sum(weights.values()), room - sum(widths)
        if total <= 0:
            break
        for i, w in weights.items():
            widths[i] = min(high[i], widths[i] + spare * w / total)
        free = {i for i in free if high[i] - widths[i] > 1e-6}
    return widths


def _title_page(config) -> str:
    """The title page's macros: everything on it is computed, not typed."""
    title, _, subtitle = meta.book_title().partition("：")
    source = (f"所据原文：一张报纸版面的文字（报纸名称{meta.known('newspaper')}，版次{meta.known('page')}，"
              f"出版日期{meta.known('published')}，据文中日期推断不早于 {meta.source_facts()['published_not_before']}）。")
    macros = {
        "zztitle": tex(title), "zzsubtitle": tex(subtitle), "zzauthor": tex(meta.book_author()),
        "zzversion": tex(cite.version_label(config.zz_version)), "zzdate": tex(when_text(cite.release_date())),
        "zzsource": tex(source),
        "zzlicence": tex(meta.rights_statement()),
        "zzsubject": tex(meta.source_description()),
    }
    return "".join(r"\newcommand{\%s}{%s}" % (k, v) + "\n" for k, v in macros.items())


def configure(app, config) -> None:
    """config-inited (the LaTeX builder copies latex_elements when it starts): the title page's
    and the metadata's values, ahead of the preamble that loads zzreview.sty."""
    elements = dict(config.latex_elements or {})
    elements["preamble"] = _title_page(config) + elements.get("preamble", "")
    config.latex_elements = elements


# xeCJK needs ctexhook.sty, which Debian ships only in texlive-lang-chinese (98 MB, plus 32 MB of
# Arphic fonts it depends on). A copy of that one file (LPPL 1.3c, unmodified, from TeX Live 2022)
# stands in when the TeX installation lacks it; an installed one is always preferred.
CTEXHOOK = paths.REPO / "book" / "_latex" / "ctexhook.sty"


def _tex_has(filename: str) -> bool:
    try:
        found = subprocess.run(["kpsewhich", filename], capture_output=True, text=True).stdout.strip()
    except OSError:
        return False
    return bool(found)


def _supply_ctexhook(app) -> None:
    if app.builder.name == "latex" and not _tex_has("ctexhook.sty"):
        app.config.latex_additional_files = [*app.config.latex_additional_files,
                                             str(CTEXHOOK.relative_to(paths.REPO))]


def setup(app) -> None:
    app.connect("config-inited", configure, priority=600)  # after the version is known
    app.connect("builder-inited", _supply_ctexhook)
    app.connect("doctree-resolved", restructure)
