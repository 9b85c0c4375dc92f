"""Sphinx extension of the book.

- Before anything is read, validate every input (config-inited) and stop the build with one
  line per problem; re-read the chapters whose recorded reads no longer hold (env-get-outdated,
  chapters.py), so that myst-nb executes them again through jupyter-cache.
- A drawing an executed chapter names zz-generated:figures/<id>.* becomes this build's file
  (GeneratedFiles), so an execution cache serves any build folder.
- Citing and reuse: the `zz-cite` directive (under every figure: downloads and citation text),
  `zz-figure-index` (the 图表索引 page), `zz-book-citation` (front page); the downloads
  themselves (figures/, notebooks/, data/ in the site) are written when the build has succeeded.
  The book's version is a config value written at output time: a new version re-writes every
  page's footer and citations, but re-reads (and re-executes) nothing.
- Write myst-nb's stylesheet before pages are written, so every page links it the same way
  (Sphinx adds ?v=checksum only for files already present: a clean build and a rebuild would
  otherwise differ).
- One doctree serves both editions: directives give `only` html/latex variants (on paper, a
  figure's id and citation line instead of downloads; the 图表索引 with LaTeX's own numbers and
  pages). zzreview/paper/latex.py shapes the PDF's document; the site root page forwards with an icon.
- Chinese accessible names where the theme and myst-nb leave none or English ones (axe reports
  a <summary> without a name as a serious violation).
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from jupyter_cache import get_cache
from myst_nb.sphinx_ext import add_global_html_resources
from sphinx import addnodes
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

from zzreview import meta, paths, records
from zzreview.dataset import validate
from zzreview.dataset.quantity import bounds_text, when_text
from zzreview.downloads import cite, replication
from zzreview.downloads.cite import href
from zzreview.site import figure_pages
from zzreview.downloads.replication import zip_name
from zzreview.drawing import figures
from zzreview.drawing.forms import FORMS
from zzreview.meta import book_title, pdf_name
from zzreview.paper import latex
from zzreview.site import chapters, screen

logger = logging.getLogger(__name__)
PROBLEMS = paths.PROBLEMS
CODE_TOGGLE = '<summary aria-label="显示或隐藏代码">'
EXECUTION_RECORD = "executions.json"  # in the site root: the one file two builds of a commit differ in
DOWNLOADS = (("png", "PNG 图片（300 dpi）"), ("svg", "SVG 矢量图"), ("pdf", "PDF 矢量图"),
             ("narrow.png", "手机版 PNG"), ("narrow.svg", "手机版 SVG"), ("csv", "CSV 数据"), ("json", "JSON 元数据"),
             ("zip", "ZIP 全部（含原文出处、许可与引用说明）"))


def _build_environment(app, config):
    """What the chapters' kernels inherit from this process (myst-nb starts them from it): where
    drawings go (beside the build's output, so the cache and the drawings outlive a build
    together), and one date for the whole build — the commit's, so two builds of one commit give
    the same bytes (FORCE_SOURCE_DATE: TeX uses it too)."""
    os.environ.setdefault("ZZREVIEW_GENERATED_DIR", str(Path(app.outdir).parent / "generated"))
    os.environ.setdefault("SOURCE_DATE_EPOCH", meta.commit_epoch())
    os.environ.setdefault("FORCE_SOURCE_DATE", "1")


def _validate(app, config):
    """Every input is checked before anything reads one (the footer reads the data package) and
    before any chapter executes; a problem stops the build with one line each (file, row,
    column: reason (hint)), printed first and written beside the output for the build script,
    which repeats them after jupyter-book's own report."""
    found = validate.problems()
    problems_file = Path(app.outdir).parent / PROBLEMS
    if not found:
        problems_file.unlink(missing_ok=True)
        os.environ["ZZREVIEW_DATA_CHECKED"] = "1"  # the chapters' kernels need not check again
        return
    text = "\n".join(f"  - {p}" for p in found)
    problems_file.write_text(text + "\n", encoding="utf-8")
    print(f"\n构建已停止：输入数据有 {len(found)} 处问题，没有运行任何章节：\n{text}\n", file=sys.stderr, flush=True)
    raise ExtensionError(f"输入数据有 {len(found)} 处问题（见上方各行）")


def _started(app):
    app.env.zz_started = time.time()  # chapters whose cache record is newer ran in this build


def _chapters_read(app, env, docnames):
    env.zz_read = list(docnames)


def _stderr_is_an_error(app, env):
    """execute.stderr_output: error in _config.yml holds for every cell of a chapter that ran."""
    if app.config.nb_output_stderr != "error":
        return
    cache = _cache(app)
    for doc in getattr(env, "zz_read", []):
        written = chapters.stderr_written(cache, doc)
        if written:
            logger.warning(f"一个单元格写入了 stderr（_config.yml 的 execute.stderr_output: error）：{written}",
                           location=doc)


def _stale_chapters(app, env, added, changed, removed):
    """Chapters whose recorded reads no longer match the inputs (chapters.py): re-read, so that
    myst-nb executes them again."""
    cache = _cache(app)
    stale = chapters.stale(cache)
    for doc, why in stale.items():
        logger.info(f"{doc}: 重新运行（{why}）")
    # and a chapter whose cache record is gone, or newer than its page was read: a build stopped
    # between removing or making a record and reading the page left that page behind
    stale.update({c.docname: "" for c in chapters.chapters() if c.docname in env.all_docs
                  and chapters.cached_since(cache, c) > _read_at(env, c.docname) / 1e9})
    reread = [d for d in stale if d in env.found_docs and d not in added and d not in changed]
    config = env.mystnb_config  # (myst-nb's own settings, as it resolved them)
    todo = chapters.uncached(cache, set(added) | set(changed) | set(reread), config.execution_excludepatterns)
    if config.execution_mode == "cache" and len(todo) > 1:  # (one: myst-nb runs it as it reads it)
        logger.info(f"\n并行运行 {len(todo)} 章：{'、'.join(c.docname for c in todo)}")
        chapters.run_ahead(cache, todo, config)
    return reread


def _read_at(env, doc: str) -> int:
    """When the environment last read a document (its doctree's time), 0 if never."""
    doctree = Path(env.doctreedir) / f"{doc}.doctree"
    return doctree.stat().st_mtime_ns if doctree.exists() else 0


def _numbering(env) -> str:
    """What each page shows of the others: section and figure numbers (captions, references,
    citations, the figure index) and titles (the navigation)."""
    return json.dumps({"sections": env.toc_secnumbers, "figures": env.toc_fignumbers,
                       "titles": {doc: title.astext() for doc, title in env.titles.items()}},
                      sort_keys=True, ensure_ascii=False)


def _record_path(app, what: str) -> Path:
    """Where a builder's run records what its pages were written with (their numbering), for
    the next run to compare: beside its output, not in it."""
    return Path(app.outdir).parent / f"zz-{app.builder.name}-{what}.json"


def _rewrite_reread(app, env):
    """An HTML builder writes the pages it read itself or whose source is newer than the page;
    a page the LaTeX run re-read (an executed chapter, or every page after a change to the
    package's code) is written too: its doctree is newer than its page."""
    if app.builder.format != "html":
        return []  # the LaTeX builder writes every document

    def stale(doc):
        page = Path(app.outdir) / app.builder.get_target_uri(doc)
        return not page.exists() or _read_at(env, doc) > page.stat().st_mtime_ns

    return [d for d in sorted(env.found_docs) if stale(d)]


def _rewrite_renumbered(app, env):
    """When numbers or titles changed since the pages were written (Sphinx renumbers in the run
    that reads, here the LaTeX one), every page is written: any may show them. Asked once Sphinx
    has numbered this run's pages (env-get-updated, after its own collector): a page re-read in
    this run has no numbers before that."""
    if app.builder.format != "html":
        return []
    written = _record_path(app, "numbering")
    if not written.exists() or written.read_text(encoding="utf-8") != _numbering(env):
        return sorted(env.found_docs)
    return []


def _record_numbering(app, exception):
    if not exception and app.builder.format == "html":
        _record_path(app, "numbering").write_text(_numbering(app.env), encoding="utf-8")


def _link(docname: str, target: str, text: str) -> nodes.reference:
    """A link from a page to a file at the site root (figures/…, notebooks/…), computed from the
    docname, not the builder: doctrees are read once and serve HTML and LaTeX."""
    return nodes.reference("", text, refuri=href(docname, target), internal=True)


def _only(expr: str, *children: nodes.Node) -> addnodes.only:
    node = addnodes.only(expr=expr)
    node.extend(children)
    return node


class zz_pending(nodes.General, nodes.Element):
    """What needs the figures' numbers: written once Sphinx has numbered them (doctree-resolved),
    from env.toc_fignumbers, so every number printed is the page's own."""


def _citation_block(title: str, texts: dict, docname: str, templates: dict | None = None,
                    on_screen: bool = True) -> nodes.Node:
    """The citation texts, one per style. On screen each has a copy button, and the reader's date
    goes in as GB/T 7714's access date (book/_static/zzreview.js). Where the book's public address
    is unknown (`templates`: the same texts with cite.ROOT_MARK for the site's root), a page served
    from a public http(s) address puts in its own; anywhere else the text says 网址不详. Without
    scripts the static text stays."""
    box = nodes.admonition(classes=["zz-cite", "dropdown"])
    box += nodes.title("", title)
    for style, text in texts.items():
        if on_screen:
            template = (templates or {}).get(style)
            box += nodes.raw("", citation_html(style, text, docname, template), format="html")
        else:
            box += nodes.paragraph("", style)
            box += nodes.literal_block(text, text, language="text" if style != "BibTeX" else "bibtex")
    return box


def citation_html(style: str, text: str, docname: str, template: str | None, what: str = "引用文字") -> str:

    label = html.escape(style)
    completes = (f' data-template="{html.escape(template)}" data-root="{cite.root_from(docname)}"'
                 if template and template != text else "")
    return (f'<div class="zz-cite-style"><p class="zz-cite-head">{label} '
            f'<button type="button" class="zz-copy" hidden aria-label="复制{label}{what}">复制</button></p>'
            f'<pre class="zz-cite-text"{completes}>{html.escape(text)}</pre></div>')


def _data_block(fig_id: str) -> nodes.Node:
    """Under a chart on screen: what it draws, as a table — read from the figure's CSV download
    itself, so the two cannot differ — with each quote of the source."""
    rows = list(csv.DictReader(io.StringIO(cite.figure_csv(fig_id))))
    table = nodes.table(classes=["zz-chart-data"])
    group = nodes.tgroup(cols=4)
    table += group
    for width in (4, 3, 1, 5):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head += _row(["指标", "数值", "单位", "原文"])
    body = nodes.tbody()
    for r in rows:
        value = bounds_text(float(r["value"]), r["qualifier"]) if r["value"] else ""
        body += _row([r["label"], value, r["unit"], f"「{r['quote']}」" if r["quote"] else r["note"]])
    group += head
    group += body
    box = nodes.admonition(classes=["zz-chart-data-box", "dropdown"])
    box += nodes.title("", "图中数据（表格）")
    box += nodes.container("", table, classes=["zz-cards"])
    return box


def _row(cells: list[str]) -> nodes.row:
    row = nodes.row()
    for text in cells:
        entry = nodes.entry()
        entry += nodes.paragraph("", text)
        row += entry
    return row


def _downloads(docname: str, fig_id: str) -> nodes.paragraph:
    para = nodes.paragraph("", "下载：")
    for i, (ext, label) in enumerate(DOWNLOADS):
        if i:
            para += nodes.Text("　")
        para += _link(docname, f"figures/{fig_id}.{ext}", label)
    return para


class zz_fold(nodes.General, nodes.Element):
    """A part of a page that folds on a phone: <details> on screen (the book's script opens it on a
    wide screen; a link into it opens it), its content in full on paper."""


class Fold(Directive):
    """```{zz-fold} summary``` with MyST content (book.fold writes them)."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {"class": directives.class_option}

    def run(self):
        node = zz_fold(summary=self.arguments[0], classes=["zz-fold", *self.options.get("class", [])])
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def _fold_open(self, node):
    self.body.append(f'<details class="{" ".join(node["classes"])}"><summary>{html.escape(node["summary"])}</summary>\n')


def _fold_close(self, node):
    self.body.append("</details>\n")


def _nothing(self, node):
    pass


class CiteFigure(Directive):
    """Downloads and ready citation text for one figure of the registry (filled in later)."""

    required_arguments = 1

    def run(self):

        self.state.document.settings.env.note_dependency(str(paths.figures_registry_path()))
        return [zz_pending(kind="cite", fig_id=self.arguments[0])]


class FigureIndex(Directive):
    """Every figure: thumbnail, number and title, chapter, downloads, citation. It waits for the
    numbers; the thumbnails are the phone drawings, readable at 320 px (figures/<id>.narrow.webp, written when
    the build has succeeded), so this page does not wait for the chapters that draw them."""

    def run(self):

        env = self.state.document.settings.env
        env.note_dependency(str(paths.figures_registry_path()))
        on_screen = nodes.container(classes=["zz-figure-index"])
        for item in figures.registry():
            fid = item["id"]
            section = nodes.section(ids=[f"index-{fid}"])
            section += zz_pending(kind="index-title", fig_id=fid)
            section += zz_pending(kind="index-body", fig_id=fid)
            on_screen += section
        return [_only("html", on_screen), _only("latex", zz_pending(kind="index-paper"))]


def _resolve_pending(app, doctree, docname):
    """Fill in everything that prints a figure number, from the numbers Sphinx computed."""
    pending = list(doctree.findall(zz_pending))
    if not pending:
        return
    numbering = cite.Numbering.from_env(app.env)
    version, root = app.config.zz_version, cite.site_root(app.config.html_baseurl)
    for node in pending:
        fid = node.get("fig_id")
        item = figures.entry(fid) if fid else None
        kind = node["kind"]
        if kind == "cite" and app.builder.format == "latex":
            label = _latex_label(fid, numbering)
            para = nodes.paragraph("", f"引用本图（纸本）：{cite.paper_citation(version, fid, numbering)}: ",
                                   classes=["zz-cite-pdf"])
            para += nodes.raw("", r"\pageref*{%s}." % label, format="latex")
            node.replace_self(para)
        elif kind == "cite":
            box = _citation_block("引用本图", *_figure_texts(fid, numbering, version, root, docname))
            node.parent.insert(node.parent.index(node), _data_block(fid))
            box.insert(1, _downloads(docname, fid))
            box.insert(2, _to_figure_page(docname, fid))
            node.replace_self(box)
        elif kind == "index-title":
            thumb = nodes.reference("", "", refuri=href(docname, f"{numbering.page(fid)}.html#{fid}"),
                                    internal=True, classes=["zz-thumb"])
            alt = html.escape(f"图 {numbering.number(fid)} 的缩略图：{item['title']}")
            thumb += nodes.raw("", f'<img src="{href(docname, f"figures/{fid}.narrow.webp")}" alt="{alt}" '
                                   f'{screen.size_attributes(fid + ".narrow", 320)} loading="lazy">', format="html")
            node.replace_self([nodes.title("", cite.figure_label(fid, numbering)),
                               nodes.paragraph("", "", thumb)])
        elif kind == "index-body":
            where = nodes.paragraph("", "所在章节：")
            page = numbering.page(fid)
            where += _link(docname, f"{page}.html#{fid}", app.env.titles[page].astext())
            node.replace_self([where, _to_figure_page(docname, fid), _downloads(docname, fid),
                               _citation_block("引用本图", *_figure_texts(fid, numbering, version, root, docname))])
        elif kind == "book-cite" and app.builder.format == "latex":
            node.replace_self(nodes.paragraph("", f"引用本书（纸本，GB/T 7714-2015）：{cite.paper_citation(version)}.",
                                              classes=["zz-cite-pdf"]))
        elif kind == "book-cite":
            templates = None if root else cite.book_citations(version, cite.ROOT_MARK)
            box = _citation_block("引用本书", cite.book_citations(version, root), docname, templates,
                                  on_screen=app.builder.format == "html")
            managers = nodes.paragraph("", "导入文献管理软件：")
            managers += _link(docname, "cite/zzreview.ris", "RIS（EndNote、NoteExpress）")
            managers += nodes.Text("　")
            managers += _link(docname, "cite/zzreview.csl.json", "CSL-JSON（Zotero）")
            box.insert(1, managers)
            node.replace_self(box)
        elif kind == "index-paper":
            on_paper = nodes.bullet_list()
            for entry in sorted(figures.registry(), key=lambda f: numbering.key(f["id"])):
                on_paper += nodes.list_item("", _pdf_index_entry(entry["id"], entry["title"], numbering))
            node.replace_self(on_paper)
    for index in doctree.findall(lambda n: "zz-figure-index" in n.get("classes", []) if isinstance(n, nodes.Element) else False):
        index.children.sort(key=lambda s: numbering.key(s["ids"][0].removeprefix("index-")))


def _to_figure_page(docname: str, fid: str) -> nodes.paragraph:
    para = nodes.paragraph("", "", classes=["zz-to-figure-page"])
    para += _link(docname, cite.figure_page(fid), "本图专页：图、数据、出处、下载、引用与嵌入")
    return para


def _figure_texts(fid: str, numbering, version: str, root: str | None, docname: str) -> tuple:
    """_citation_block's texts, docname and templates for a figure (cite.figure_texts)."""
    templates = None if root else cite.figure_texts(fid, numbering, version, cite.ROOT_MARK)
    return cite.figure_texts(fid, numbering, version, root), docname, templates


def _latex_label(fig_id: str, numbering) -> str:
    """The label LaTeX gives a figure (its page's docname and its id)."""
    return r"\detokenize{%s:%s}" % (numbering.page(fig_id), fig_id)


def _pdf_index_entry(fig_id: str, title: str, numbering) -> nodes.paragraph:
    """图 N.M, the title, the ID and the page: LaTeX prints the number it gave the figure."""
    label = _latex_label(fig_id, numbering)
    para = nodes.paragraph()
    para += nodes.raw("", r"\hyperref[%s]{图~\ref*{%s}}\quad " % (label, label), format="latex")
    para += nodes.Text(f"{title}（{fig_id}），")
    para += nodes.raw("", r"第~\pageref*{%s}~页" % label, format="latex")
    return para


def _relative_to_doc(env, path: Path) -> str:

    doc_dir = Path(env.doc2path(env.docname)).parent
    return os.path.relpath(path, doc_dir).replace(os.sep, "/")


class GeneratedFiles(SphinxTransform):
    """A drawing an executed chapter names as zz-generated:figures/<id>.* (paths.GENERATED_URI)
    becomes the path of this build's file, relative to the page as Sphinx resolves it."""

    default_priority = 200

    def apply(self):

        for image in self.document.findall(nodes.image):
            if image["uri"].startswith(paths.GENERATED_URI):
                image["uri"] = _relative_to_doc(self.env, paths.generated_dir() / image["uri"][len(paths.GENERATED_URI):])


class PdfDownload(Directive):
    """On the front page: the PDF edition, which the build writes into the site root."""

    def run(self):

        NAME = pdf_name()
        env = self.state.document.settings.env
        para = nodes.paragraph("", "本书另有 PDF 版（A4，可打印；图的编号与网页相同）：", classes=["zz-pdf"])
        para += _link(env.docname, f"{NAME}.pdf", f"下载 PDF（{NAME}.pdf）")
        return [_only("html", para)]


class ReplicationDownload(Directive):
    """The replication package (zzreview/downloads/replication.py writes it into the site root)."""

    def run(self):

        env = self.state.document.settings.env
        para = nodes.paragraph("", "复现包（笔记本、数据、程序包、锁定的依赖和说明，一个 ZIP）：", classes=["zz-replication"])
        para += _link(env.docname, zip_name(), f"下载复现包（{zip_name()}）")
        on_paper = nodes.paragraph("", f"复现包 {zip_name()} 在本书网站的首页和复现指南页下载。")
        return [_only("html", para), _only("latex", on_paper)]


class ExecutionRecord(Directive):
    """The 执行记录 table: one row per chapter, written here; what varies from build to build (how
    each ran, when, how long) the page's script fills in from executions.json (EXECUTION_RECORD),
    which each HTML build writes. The page itself stays the same from build to build, and does not
    shift when the script fills it."""

    HEADS = ("笔记本", "本次构建", "最近一次运行（UTC）", "用时（秒）", "结果")

    def run(self):
        env = self.state.document.settings.env
        src = href(env.docname, EXECUTION_RECORD)
        head = "".join(f'<th scope="col">{h}</th>' for h in self.HEADS)
        rows = "".join(
            f'<tr data-notebook="{html.escape(c.docname)}"><td><a href="{html.escape(href(env.docname, c.docname + ".html"))}">'
            f'{html.escape(c.docname)}</a></td>'
            + "<td>—</td>" * (len(self.HEADS) - 1) + "</tr>"  # screen.py labels the cells for a phone
            for c in chapters.chapters())
        box = nodes.raw("", f'<div class="zz-executions" data-src="{src}">'
                            f'<p>本次构建于 <span class="zz-built-at">—</span>（UTC）。表中各项由网页中的脚本读取 '
                            f'<a href="{src}">{EXECUTION_RECORD}</a> 填入；脚本未运行时请直接打开该文件。</p>'
                            f'<div class="zz-cards"><table class="table"><thead><tr>{head}</tr></thead>'
                            f'<tbody>{rows}</tbody></table></div></div>', format="html")
        on_paper = nodes.paragraph("", f"执行记录随每次构建而变，只在网页版中给出（{EXECUTION_RECORD}）。")
        return [_only("html", box), _only("latex", on_paper)]


class BookCitation(Directive):
    def run(self):
        return [zz_pending(kind="book-cite")]  # the version is filled in when the page is written


CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef“”‘’"
# A line break inside a paragraph of Chinese is no space: the Markdown sources wrap prose lines
# anywhere, and a browser would show each break between two Chinese characters as a gap.
SOFT_BREAK = re.compile(rf"(?<=[{CJK}])[ \t]*\n[ \t]*(?=[{CJK}])")
CODE_LIKE = (nodes.literal, nodes.literal_block, nodes.raw, nodes.math, nodes.math_block)


CJK_CHAR = re.compile(rf"[{CJK}]")


def _join_chinese_lines(app, doctree):
    """MyST gives a soft line break as a Text node of its own ("\n") between the two lines' texts;
    other readers leave it inside one Text. Both go when Chinese stands on either side."""
    for text in list(doctree.findall(nodes.Text)):
        if any(isinstance(a, CODE_LIKE) for a in latex.ancestors(text)):
            continue
        value, parent = str(text), text.parent
        # by identity: Text nodes are strings, and docutils' index() and remove() compare them by value
        i = next(k for k, child in enumerate(parent.children) if child is text)
        joined = SOFT_BREAK.sub("", value)
        if value.strip(" \t") == "\n":
            before = parent[i - 1].astext()[-1:] if i > 0 else ""
            after = parent[i + 1].astext()[:1] if i + 1 < len(parent) else ""
            if CJK_CHAR.fullmatch(before or "a") and CJK_CHAR.fullmatch(after or "a"):
                joined = ""
        if joined == value:
            continue
        if joined:
            new = nodes.Text(joined)
            new.parent = parent
            parent.children[i] = new
        else:
            del parent.children[i]


def _cache_dir(app) -> Path:
    """Where myst-nb keeps the executed chapters (its configuration, resolved when it set up)."""
    return Path(app.env.mystnb_config.execution_cache_path)


def _cache(app):
    return get_cache(str(_cache_dir(app)))


def _write_downloads(app, exception):
    if exception or app.builder.format != "html":
        return

    out = Path(app.outdir)
    version, root = app.config.zz_version, cite.site_root(app.config.html_baseurl)
    numbering = cite.Numbering.from_env(app.env)
    from zzreview.drawing.card import draw_card  # matplotlib: only once the pages are written

    shown = f"{cite.version_label(version)}（{when_text(cite.release_date())}发布）"
    for item in figures.registry():
        fid = item["id"]
        cite.write_figure_downloads(fid, out / "figures", numbering, version, root)
        draw_card(out / "figures" / f"{fid}.narrow.png", out / "figures" / f"{fid}.card.png",
                  f"图 {numbering.number(fid)}", book_title(), shown, root and f"{root}{cite.figure_page(fid)}")

    # each chapter as a notebook analysts can follow and rerun, and all of them in one package
    notebooks = replication.write_notebooks(chapters.chapters(), _cache_dir(app), out / "notebooks", numbering)
    replication.write_package(out, numbering, version, notebooks, out / "notebooks", root)
    cite.write_book_citations(out / "cite", version, root)
    record = chapters.execution_record(_cache(app), app.env.zz_started)
    (out / EXECUTION_RECORD).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")

    # the data package whole, as its descriptor lists it: a program that reads data/datapackage.json
    # from the site finds every file it names
    descriptor = paths.datapackage_path()
    for rel in [descriptor.name] + [r["path"] for r in meta.datapackage()["resources"]]:
        (out / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths.data_dir() / rel, out / "data" / rel)


ROOT_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="_static/{icon}">
<meta http-equiv="Refresh" content="0; url={target}">
</head>
<body><p><a href="{target}">{title}</a></p></body>
</html>
"""


def _drop_unused_images(app, exception) -> None:
    """Sphinx copies each image a page uses into _images but never removes one: a figure taken
    out of a chapter would stay in the site of an incremental build, which a clean build lacks.
    What no page of the environment uses any more goes (so an extension that wrote its own files
    into _images, as graphviz does, would need them listed here)."""
    if exception or app.builder.format != "html":
        return
    used = {unique for _, unique in app.env.images.values()}
    folder = Path(app.outdir) / app.builder.imagedir
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.is_file() and path.name not in used:
            path.unlink()


def _root_page(app, exception):
    """The site root forwards to the front page. The stock redirect has no icon, so a browser
    asks for /favicon.ico (a 404) while it forwards; and it has no language or title."""
    if exception or app.builder.format != "html" or app.config.root_doc == "index":
        return

    icon = Path(app.config.html_favicon or "favicon.ico").name
    (Path(app.outdir) / "index.html").write_text(
        ROOT_PAGE.format(title=book_title(), icon=icon, target=f"{app.config.root_doc}.html"), encoding="utf-8")


def _technical(app, pagename, templatename, context, doctree):
    """One folded 技术信息 section at the foot of every page: what citers and analysts need and a
    reader does not — the page's source file and notebook, the ids of the numbers, figures and
    register entries on it (read from the page itself), the data files, the source text's
    sha256, the commit it was built from."""
    if "body" not in context or doctree is None:
        return
    ids = []
    for node in doctree.findall(nodes.Element):
        for node_id in node.get("ids", []):
            if node_id.startswith(("m-", "amb-")) or (node_id.startswith("fig-") and isinstance(node, nodes.figure)):
                text = node.astext() if not isinstance(node, nodes.figure) else \
                    next(iter(node.findall(nodes.caption)), node).astext()
                ids.append((node_id.removeprefix("m-"), text.strip()))
    rows = [("本页源文件", f"<code>{html.escape(app.env.doc2path(pagename, base=False))}</code>")]
    if pagename in {c.docname for c in chapters.chapters()}:
        notebook = href(pagename, f"notebooks/{pagename}.ipynb")
        rows.append(("本章笔记本", f'<a href="{notebook}" download>{Path(pagename).name}.ipynb</a>'
                                 f'（带本次构建的运行结果；要重新运行，请用<a href="{href(pagename, zip_name())}" download>复现包</a>）'))
    source = next(r for r in meta.datapackage()["resources"] if r["name"] == "source-page")
    rows.append(("原文文件", f"<code>data/{html.escape(source['path'])}</code>，sha256 "
                           f"<code>{html.escape(source['hash'].split(':', 1)[-1])}</code>"))
    if any(not i.startswith("fig-") for i, _ in ids):  # numbers or register entries: the data files
        rows.append(("数据文件", "、".join(f'<a href="{href(pagename, "data/" + n)}">data/{n}</a>'
                                        for n in ("metrics.csv", "numeral_exclusions.csv", "datapackage.json"))))
    rows.append(("构建所用提交", html.escape(cite.commit_label(app.config.zz_version))))
    items = "".join(f"<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>" for k, v in rows)
    listed = "".join(f"<li><code>{html.escape(i)}</code> {html.escape(t)}</li>" for i, t in ids)
    body = f'<table class="zz-tech-table"><tbody>{items}</tbody></table>'
    if listed:
        body += f'<p>本页的编号（数据、图和登记表条目；笔记本和数据文件中用它们）：</p><ul class="zz-ids">{listed}</ul>'
    context["body"] += f'<details class="zz-tech"><summary>技术信息</summary>{body}</details>\n'


def _description(app, pagename, templatename, context, doctree):
    """A meta description on every page (what a search result or a shared link shows): a figure
    page's own, else the page's first paragraph, else the book's title."""
    text = context.get("zz_description")
    if not text and doctree is not None:
        first = next((p for p in doctree.findall(nodes.paragraph)
                      if not any(isinstance(a, (nodes.admonition, nodes.table, nodes.container)) for a in latex.ancestors(p))
                      and len(p.astext()) > 20), None)
        text = first.astext() if first is not None else ""
    text = " ".join((text or book_title()).split())
    text = text if len(text) <= 150 else text[:149] + "…"
    context["metatags"] = context.get("metatags", "") + f'<meta name="description" content="{html.escape(text)}" />\n'


def _unseen_inputs_digest(app, config):
    """A config value that changes with what the pages show but Sphinx does not watch:
    data/changes.csv (every page's 更新记录) and the book's own static files (Sphinx copies them
    only when it writes some page, so an edited stylesheet alone would never reach the site).
    Sphinx then writes every page again (the value's rebuild is "html": nothing is re-read or
    re-executed)."""
    digest = hashlib.sha256(paths.changes_path().read_bytes())
    for folder in config.html_static_path:
        for path in sorted(p for p in (Path(app.confdir) / folder).rglob("*") if p.is_file()):
            digest.update(path.relative_to(app.confdir).as_posix().encode() + b"\0" + path.read_bytes())
    config.zz_unseen_inputs = digest.hexdigest()


def _page_changes(app, pagename, templatename, context, doctree):
    """At the foot of every page of the book: its 更新记录."""
    if "body" not in context or doctree is None:
        return
    context["body"] += changes_html(pagename)


def changes_html(*pages: str) -> str:
    """The dated content changes of data/changes.csv that concern these pages or the whole book,
    newest first (then last written first)."""
    rows = [r for _, r in sorted((pair for pair in records.change_rows() if pair[1]["page"] in ("", *pages)),
                                 key=lambda pair: (pair[1]["date"], pair[0]), reverse=True)]
    items = "".join(f'<li><time datetime="{r["date"]}">{when_text(r["date"])}</time>　{html.escape(r["change"])}</li>'
                    for r in rows)
    return f'<details class="zz-history"><summary>更新记录（{len(rows)} 条）</summary><ul>{items}</ul></details>\n'


def _footer_version(app, config):

    config.zz_version = config.zz_version or cite.book_version()
    opts = dict(config.html_theme_options or {})
    opts["extra_footer"] = (f"{meta.rights_statement()} 本书版本 {cite.version_label()}"
                            f"（{when_text(cite.release_date())}发布）。")
    config.html_theme_options = opts


def _mystnb_css_early(app):
    if app.builder.format != "html":
        return

    (Path(app.outdir) / "_static").mkdir(parents=True, exist_ok=True)
    add_global_html_resources(app, None)


def _scripts_once(app, pagename, templatename, context, doctree):
    """Each script on a page once: sphinx-thebe and sphinx-togglebutton add their inline settings
    each time Sphinx is about to read (a second time with no file name but ""), so a page
    declared THEBE_JS_URL twice (a SyntaxError)."""
    seen, once = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", script) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            once.append(script)
    context["script_files"] = once


BUTTON_WORDS = {"列印成 PDF": "打印成 PDF"}  # the theme's zh catalog has Taiwan's word for "print"


def _button_words(app, pagename, templatename, context, doctree):
    """The theme's header buttons (its page context), their tooltips in the book's Chinese."""
    def fix(buttons):
        for button in buttons or []:
            button["tooltip"] = BUTTON_WORDS.get(button.get("tooltip"), button.get("tooltip"))
            fix(button.get("items"))
    fix(context.get("header_buttons"))


def _name_toggles(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = context["body"].replace('<summary aria-label="Toggle hidden content">', CODE_TOGGLE)


TO_CLASS = {"m-": "zz-fact", "x-": "zz-nonfact"}  # a mark in the source text; any other: a link back to one
TO = re.compile(r"(?P<text>.*) <(?P<target>[A-Za-z0-9_-]+)(?: (?P<title>[^>]*))?>", re.S)


def _to_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """{zz-to}`text <id title>`: a link to the element with that id on the same page (book.link_to
    writes them). A mark of the source links to its data row (m-…) or to why a numeral is not a
    fact (x-…), with the title saying what it is; a value links back to its marked phrase."""
    m = TO.fullmatch(text)
    if not m:
        msg = inliner.reporter.error(f"zz-to：无法识别 {text!r}（应为“文字 <编号 说明>”）", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    target = m["target"]
    cls = next((c for prefix, c in TO_CLASS.items() if target.startswith(prefix)), "zz-back")
    ref = nodes.reference("", m["text"], refid=target, classes=[cls], internal=True)
    if m["title"]:
        ref["reftitle"] = m["title"]
    return [ref], []


def _chart_forms_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """{zz-chart-forms}`list`: the chart forms a registry entry may name, from forms.FORMS (the
    复现指南 names them for a reader adding a figure). The role's text is not read: MyST needs one."""
    out = []
    for i, form in enumerate(FORMS):
        out += [nodes.Text("、")] if i else []
        out.append(nodes.literal(form, form))
    return out, []


def setup(app):

    latex.setup(app)
    app.connect("config-inited", _build_environment)
    app.connect("config-inited", _validate, priority=100)  # before anything else reads an input
    app.connect("builder-inited", _started)
    app.connect("env-before-read-docs", _chapters_read)
    app.connect("env-updated", _stderr_is_an_error)
    # "html": a new version is written into every page (footer, citations) but re-reads none
    app.add_config_value("zz_version", "", "html")
    app.add_config_value("zz_unseen_inputs", "", "html")
    app.connect("config-inited", _unseen_inputs_digest)
    app.connect("config-inited", _footer_version)
    app.add_js_file("zzreview.js", loading_method="defer")  # citations: the page's address, the date, copy
    app.add_transform(GeneratedFiles)
    app.add_directive("zz-cite", CiteFigure)
    app.add_directive("zz-figure-index", FigureIndex)
    app.add_directive("zz-book-citation", BookCitation)
    app.add_directive("zz-pdf-download", PdfDownload)
    app.add_directive("zz-replication-download", ReplicationDownload)
    app.add_directive("zz-execution-record", ExecutionRecord)
    app.add_role("zz-chart-forms", _chart_forms_role)
    app.add_role("zz-to", _to_role)
    app.connect("env-get-outdated", _stale_chapters)
    app.connect("env-updated", _rewrite_reread)
    app.connect("env-get-updated", _rewrite_renumbered, priority=900)  # after Sphinx numbers the pages (500)
    app.connect("build-finished", _record_numbering)
    app.connect("doctree-read", _join_chinese_lines)
    app.add_node(zz_pending)
    app.add_node(zz_fold, html=(_fold_open, _fold_close), latex=(_nothing, _nothing))
    app.add_directive("zz-fold", Fold)
    app.connect("doctree-resolved", _resolve_pending, priority=400)  # before latex.py shapes the PDF
    app.connect("builder-inited", _mystnb_css_early)
    app.connect("html-collect-pages", figure_pages.collect)
    app.connect("build-finished", _write_downloads)
    app.connect("build-finished", _root_page)
    app.connect("build-finished", _drop_unused_images)
    # priority > 500: run after the theme has put its toctree function into the context
    app.connect("html-page-context", _scripts_once, priority=900)
    app.connect("html-page-context", _name_toggles, priority=900)
    app.connect("html-page-context", _button_words, priority=900)
    app.connect("html-page-context", _technical, priority=901)
    app.connect("html-page-context", _page_changes, priority=902)
    app.connect("html-page-context", _description)
    app.connect("html-page-context", screen.page_markup, priority=910)
    app.connect("build-finished", screen.slim_site, priority=900)  # after the downloads are written
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "3",
            "env_version": _package_version()}


def _package_version() -> int:
    """The package's code as a number: Sphinx re-reads every page when an extension's env_version
    changes, so a change to this extension (or to what it calls) never leaves pages as the old
    code wrote them."""
    digest = hashlib.sha256()
    package = Path(__file__).parents[1]
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.md")]):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return int(digest.hexdigest()[:12], 16)
