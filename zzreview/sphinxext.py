"""Sphinx extension of the book.

- Re-read the chapters the pre-build executor ran (their Markdown may be unchanged, their data
  not): it lists them in <build>/zz-executed.json.
- Citing and reuse: the `zz-cite` directive (under every figure: downloads and citation text),
  `zz-figure-index` (the 图表索引 page), `zz-book-citation` (front page); the downloads
  themselves (figures/, notebooks/, data/ in the site) are written when the build has succeeded.
  The book's version is a config value, so a new commit re-reads (not re-executes) every page.
- Write myst-nb's stylesheet before pages are written, so every page links it the same way
  (Sphinx adds ?v=checksum only for files already present: a clean build and a rebuild would
  otherwise differ).
- One doctree serves both editions: directives give `only` html/latex variants (on paper, a
  figure's id and citation line instead of downloads; the 图表索引 with LaTeX's own numbers and
  pages). zzreview/latex.py shapes the PDF's document; the site root page forwards with an icon.
- Chinese accessible names where the theme and myst-nb leave none or English ones (axe reports
  a <summary> without a name as a serious violation).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx import addnodes
from sphinx.util.osutil import relative_uri

TOC_TOGGLE = '<summary aria-label="展开或折叠本章各节">'
CODE_TOGGLE = '<summary aria-label="显示或隐藏代码">'
EXECUTED_LIST = "zz-executed.json"
DOWNLOADS = (("png", "PNG 图片（300 dpi）"), ("svg", "SVG 矢量图"), ("pdf", "PDF 矢量图"),
             ("csv", "CSV 数据"), ("json", "JSON 元数据"))


def executed_list_path(outdir) -> Path:
    return Path(outdir).parent / EXECUTED_LIST


def _reread_executed(app, env, added, changed, removed):
    path = executed_list_path(app.outdir)
    if not path.exists():
        return []
    docnames = json.loads(path.read_text(encoding="utf-8"))
    return [d for d in docnames if d in env.found_docs and d not in added and d not in changed]


def _link(env, target: str, text: str) -> nodes.reference:
    """A link from the current page to a file at the site root (figures/…, notebooks/…).
    Computed from the docname, not the builder: doctrees are read once and serve HTML and LaTeX."""
    uri = relative_uri(f"{env.docname}.html", target)
    return nodes.reference("", text, refuri=uri, internal=True)


def _only(expr: str, *children: nodes.Node) -> addnodes.only:
    node = addnodes.only(expr=expr)
    node.extend(children)
    return node


def _pdf_figure_note(fig_id: str, version: str, baseurl: str) -> nodes.paragraph:
    """Under a figure on paper: its stable ID and the citation text (the downloads are online)."""
    from . import cite

    gbt = cite.figure_citations(fig_id, version, baseurl)["GB/T 7714-2015"]
    return nodes.paragraph("", f"图的编号 {fig_id}。引用：{gbt}", classes=["zz-cite-pdf"])


def _citation_block(title: str, texts: dict) -> nodes.Node:
    box = nodes.admonition(classes=["zz-cite", "dropdown"])
    box += nodes.title("", title)
    for style, text in texts.items():
        box += nodes.paragraph("", style)
        box += nodes.literal_block(text, text, language="text" if style != "BibTeX" else "bibtex")
    return box


def _downloads(env, fig_id: str) -> nodes.paragraph:
    para = nodes.paragraph("", "下载：")
    for i, (ext, label) in enumerate(DOWNLOADS):
        if i:
            para += nodes.Text("　")
        para += _link(env, f"figures/{fig_id}.{ext}", label)
    return para


class CiteFigure(Directive):
    """Downloads and ready citation text for one figure of the registry."""

    required_arguments = 1

    def run(self):
        from . import cite, paths

        env = self.state.document.settings.env
        env.note_dependency(str(paths.figures_registry_path()))
        fig_id = self.arguments[0]
        cfg = env.config
        box = _citation_block("引用本图", cite.figure_citations(fig_id, cfg.zz_version, cfg.html_baseurl or ""))
        box.insert(1, _downloads(env, fig_id))
        box.insert(2, nodes.paragraph("", f"永久链接（图的编号 {fig_id}）：{cite.permalink(fig_id, cfg.html_baseurl or '')}"))
        return [_only("html", box), _only("latex", _pdf_figure_note(fig_id, cfg.zz_version, cfg.html_baseurl or ""))]


class FigureIndex(Directive):
    """Every figure: thumbnail, number and title, chapter, downloads, citation."""

    def run(self):
        from . import cite, figures, paths

        env = self.state.document.settings.env
        env.note_dependency(str(paths.figures_registry_path()))
        out, on_paper = [], nodes.bullet_list()
        for item in sorted(figures.registry(), key=lambda f: [int(x) for x in cite.number(f["id"]).split(".")]):
            fid = item["id"]
            on_paper += nodes.list_item("", _pdf_index_entry(fid, item["title"]))
            section = nodes.section(ids=[f"index-{fid}"])
            section += nodes.title("", f"图 {cite.number(fid)} {item['title']}")
            thumb = nodes.reference("", "", refuri=relative_uri(f"{env.docname}.html",
                                                                 f"{cite.page(fid)}.html#{fid}"), internal=True)
            thumb += nodes.image(uri=_relative_to_doc(env, paths.generated_dir() / "figures" / f"{fid}.thumb.png"),
                                 alt=f"图 {cite.number(fid)} 的缩略图：{item['title']}", width="320px")
            section += nodes.paragraph("", "", thumb)
            where = nodes.paragraph("", "所在章节：")
            where += _link(env, f"{cite.page(fid)}.html#{fid}", f"{cite.page(fid)}.html#{fid}")
            section += where
            section += _downloads(env, fid)
            section += _citation_block("引用本图", cite.figure_citations(fid, env.config.zz_version,
                                                                       env.config.html_baseurl or ""))
            out.append(section)
        return [_only("html", *out), _only("latex", on_paper)]


def _pdf_index_entry(fig_id: str, title: str) -> nodes.paragraph:
    """图 N.M, the title, the ID and the page: LaTeX prints the number it gave the figure."""
    from . import cite

    label = r"\detokenize{%s:%s}" % (cite.page(fig_id), fig_id)
    para = nodes.paragraph()
    para += nodes.raw("", r"\hyperref[%s]{图~\ref*{%s}}\quad " % (label, label), format="latex")
    para += nodes.Text(f"{title}（{fig_id}），")
    para += nodes.raw("", r"第~\pageref*{%s}~页" % label, format="latex")
    return para


def _relative_to_doc(env, path: Path) -> str:
    import os

    doc_dir = Path(env.doc2path(env.docname)).parent
    return os.path.relpath(path, doc_dir).replace(os.sep, "/")


class PdfDownload(Directive):
    """On the front page: the PDF edition, which the build writes into the site root."""

    def run(self):
        from .meta import pdf_name

        NAME = pdf_name()
        env = self.state.document.settings.env
        para = nodes.paragraph("", "本书另有 PDF 版（A4，可打印；图的编号与网页相同）：", classes=["zz-pdf"])
        para += _link(env, f"{NAME}.pdf", f"下载 PDF（{NAME}.pdf）")
        return [_only("html", para)]


class BookCitation(Directive):
    def run(self):
        from . import cite

        cfg = self.state.document.settings.env.config
        return [_citation_block("引用本书", cite.book_citations(cfg.zz_version, cfg.html_baseurl or ""))]


CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef“”‘’"
# A line break inside a paragraph of Chinese is no space: the Markdown sources wrap prose lines
# anywhere, and a browser would show each break between two Chinese characters as a gap.
SOFT_BREAK = re.compile(rf"(?<=[{CJK}])[ \t]*\n[ \t]*(?=[{CJK}])")
CODE_LIKE = (nodes.literal, nodes.literal_block, nodes.raw, nodes.math, nodes.math_block)


def _join_chinese_lines(app, doctree):
    for text in list(doctree.findall(nodes.Text)):
        if any(isinstance(a, CODE_LIKE) for a in _ancestors(text)):
            continue
        joined = SOFT_BREAK.sub("", str(text))
        if joined != str(text):
            text.parent.replace(text, nodes.Text(joined))


def _ancestors(node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def _write_downloads(app, exception):
    if exception or app.builder.format != "html":
        return
    from . import cite, execute, figures

    out = Path(app.outdir)
    version, base = app.config.zz_version, app.config.html_baseurl or ""
    for item in figures.registry():
        cite.write_figure_downloads(item["id"], out / "figures", version, base)
    import jupytext

    for ch in execute.chapters():  # each chapter as a notebook analysts can rerun
        target = out / "notebooks" / f"{ch.docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nb = jupytext.read(ch.path)
        for i, cell in enumerate(nb.cells):  # nbformat draws random cell ids; builds must repeat
            cell.id = f"cell-{i}"
        jupytext.write(nb, str(target), fmt="ipynb")
    from . import paths

    for name in ("datapackage.json", "metrics.csv", "numeral_exclusions.csv"):
        (out / "data").mkdir(exist_ok=True)
        shutil.copyfile(paths.data_dir() / name, out / "data" / name)


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


def _root_page(app, exception):
    """The site root forwards to the front page. The stock redirect has no icon, so a browser
    asks for /favicon.ico (a 404) while it forwards; and it has no language or title."""
    if exception or app.builder.format != "html" or app.config.root_doc == "index":
        return
    from .meta import book_title

    icon = Path(app.config.html_favicon or "favicon.ico").name
    (Path(app.outdir) / "index.html").write_text(
        ROOT_PAGE.format(title=book_title(), icon=icon, target=f"{app.config.root_doc}.html"), encoding="utf-8")


def _notebook_link(app, pagename, templatename, context, doctree):
    """'Download this chapter as a notebook' on every chapter that is one."""
    if not hasattr(app, "_zz_notebooks"):  # the chapters that are notebooks, found once per build
        from . import execute
        app._zz_notebooks = {c.docname for c in execute.chapters()}
    if "body" not in context or pagename not in app._zz_notebooks:
        return
    href = relative_uri(app.builder.get_target_uri(pagename), f"notebooks/{pagename}.ipynb")
    context["body"] = (f'<p class="zz-notebook">下载本章笔记本：<a href="{href}" download>'
                       f'{Path(pagename).name}.ipynb</a>（可在 JupyterLab 中重新运行）</p>\n' + context["body"])


def _footer_version(app, config):
    from . import cite, meta

    config.zz_version = config.zz_version or cite.book_version()
    opts = dict(config.html_theme_options or {})
    opts["extra_footer"] = (f"{meta.rights_statement()} 本书版本 {cite.version_label(config.zz_version)}，"
                            f"构建于 {cite.build_date()}。")
    config.html_theme_options = opts


def _mystnb_css_early(app):
    if app.builder.format != "html":
        return
    from myst_nb.sphinx_ext import add_global_html_resources

    (Path(app.outdir) / "_static").mkdir(parents=True, exist_ok=True)
    add_global_html_resources(app, None)


def _name_toggles(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = context["body"].replace('<summary aria-label="Toggle hidden content">', CODE_TOGGLE)
    make_toc = context.get("generate_toctree_html")
    if make_toc and not getattr(make_toc, "_zz_named", False):
        def named(*args, **kwargs):
            return str(make_toc(*args, **kwargs)).replace("<summary>", TOC_TOGGLE)
        named._zz_named = True
        context["generate_toctree_html"] = named


def setup(app):
    from . import latex

    latex.setup(app)
    app.add_config_value("zz_version", "", "env")  # a new version re-reads every page
    app.connect("config-inited", _footer_version)
    app.add_directive("zz-cite", CiteFigure)
    app.add_directive("zz-figure-index", FigureIndex)
    app.add_directive("zz-book-citation", BookCitation)
    app.add_directive("zz-pdf-download", PdfDownload)
    app.connect("env-get-outdated", _reread_executed)
    app.connect("doctree-read", _join_chinese_lines)
    app.connect("builder-inited", _mystnb_css_early)
    app.connect("build-finished", _write_downloads)
    app.connect("build-finished", _root_page)
    # priority > 500: run after the theme has put its toctree function into the context
    app.connect("html-page-context", _name_toggles, priority=900)
    app.connect("html-page-context", _notebook_link, priority=901)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "3"}
