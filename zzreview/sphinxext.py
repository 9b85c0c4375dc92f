"""Sphinx extension of the book.

- Re-read the chapters the pre-build executor ran (their Markdown may be unchanged, their data
  not): it lists them in <build>/zz-executed.json.
- Write myst-nb's stylesheet before pages are written, so every page links it the same way
  (Sphinx adds ?v=checksum only for files already present: a clean build and a rebuild would
  otherwise differ).
- Chinese accessible names where the theme and myst-nb leave none or English ones (axe reports
  a <summary> without a name as a serious violation).
"""
from __future__ import annotations

import json
from pathlib import Path

TOC_TOGGLE = '<summary aria-label="展开或折叠本章各节">'
CODE_TOGGLE = '<summary aria-label="显示或隐藏代码">'
EXECUTED_LIST = "zz-executed.json"


def executed_list_path(outdir) -> Path:
    return Path(outdir).parent / EXECUTED_LIST


def _reread_executed(app, env, added, changed, removed):
    path = executed_list_path(app.outdir)
    if not path.exists():
        return []
    docnames = json.loads(path.read_text(encoding="utf-8"))
    return [d for d in docnames if d in env.found_docs and d not in added and d not in changed]


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
    app.connect("env-get-outdated", _reread_executed)
    app.connect("builder-inited", _mystnb_css_early)
    # priority > 500: run after the theme has put its toctree function into the context
    app.connect("html-page-context", _name_toggles, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "2"}
