"""Sphinx extension of the book: Chinese accessible names where the theme and myst-nb leave
none or English ones (axe reports a <summary> without a name as a serious violation)."""
from __future__ import annotations

TOC_TOGGLE = '<summary aria-label="展开或折叠本章各节">'
CODE_TOGGLE = '<summary aria-label="显示或隐藏代码">'


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
    # priority > 500: run after the theme has put its toctree function into the context
    app.connect("html-page-context", _name_toggles, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
