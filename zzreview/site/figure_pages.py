"""A page per figure (figures/<id>.html), as Our World in Data gives each chart one: the chart,
its data, its sources (each quote linked to the marked phrase in the book), every download, its
citation in every style, the code to embed it, and its 更新记录; and a chart-only page to embed
(figures/<id>.embed.html). Sphinx writes both through its own extension point for pages that come
from no source file (html-collect-pages), in the theme's page template and the book's embed
template (book/_templates/zz-embed.html). Without scripts everything but the copy buttons works.
"""
from __future__ import annotations

import csv
import html
import io

from zzreview import meta
from zzreview.dataset.quantity import bounds_text
from zzreview.downloads import cite
from zzreview.downloads.cite import href
from zzreview.drawing import figures
from zzreview.site import screen

DOWNLOADS = (("png", "PNG 图片（300 dpi，印刷宽度）"), ("narrow.png", "PNG 图片（手机宽度）"),
             ("svg", "SVG 矢量图"), ("pdf", "PDF 矢量图"), ("card.png", "分享卡片（PNG，可发微信等）"),
             ("csv", "CSV 数据（带 BOM，Excel 可直接打开）"), ("json", "JSON 元数据"),
             ("ris", "RIS（EndNote、NoteExpress）"), ("csl.json", "CSL-JSON（Zotero）"),
             ("zip", "全部文件（ZIP，附中文说明）"))


def page_name(fig_id: str) -> str:
    return cite.figure_page(fig_id).removesuffix(".html")


def embed_name(fig_id: str) -> str:
    return f"figures/{fig_id}.embed"


def collect(app):
    """html-collect-pages: each figure's page and its embeddable chart."""
    if app.builder.format != "html":
        return
    numbering = cite.Numbering.from_env(app.env)
    version, root = app.config.zz_version, cite.site_root(app.config.html_baseurl)
    for item in figures.registry():
        fid = item["id"]
        title = cite.figure_label(fid, numbering)
        description = f"{title}：{' '.join(item['caption'].split())}"
        yield page_name(fid), {
            "title": title, "body": _body(app, fid, title, numbering, version, root),
            "metatags": _metatags(fid, title, description, root), "zz_description": description,
        }, "page.html"
        yield embed_name(fid), {
            "title": title, "zz_figure": _picture(embed_name(fid), fid),
            "zz_source": html.escape(figures.source_line(figures.drawn_rows(fid))),
            "zz_page": href(embed_name(fid), cite.figure_page(fid)), "zz_book": html.escape(meta.book_title()),
            "zz_description": description,
        }, "zz-embed.html"


def _metatags(fid: str, title: str, description: str, root: str | None) -> str:
    """Open Graph tags where the book's public address is known: a shared link shows the chart."""
    if not root:
        return ""
    tags = {"og:type": "article", "og:title": title, "og:description": description,
            "og:url": f"{root}{cite.figure_page(fid)}", "og:image": f"{root}figures/{fid}.png",
            "og:site_name": meta.book_title(), "og:locale": "zh_CN"}
    out = "".join(f'<meta property="{k}" content="{html.escape(v)}" />\n' for k, v in tags.items())
    return out + '<meta name="twitter:card" content="summary_large_image" />\n'


def _picture(pagename: str, fid: str) -> str:
    """The chart as the chapter shows it, with the chapter's alt text."""
    return screen.picture(pagename, fid, html.escape(figures.alt_text(fid)), href(pagename, f"figures/{fid}.svg"),
                          lazy=False)


def _body(app, fid: str, title: str, numbering, version: str, root: str | None) -> str:
    from zzreview.site.sphinxext import changes_html, citation_html  # the book's own pieces

    pagename = page_name(fid)
    item = figures.entry(fid)
    chapter = numbering.page(fid)
    number = numbering.number(fid)
    chapter_title = app.env.titles[chapter].astext()
    parts = [f'<h1>{html.escape(title)}</h1>',
             f'<p class="zz-lead">{html.escape(" ".join(item["caption"].split()))}</p>',
             f'<figure class="zz-figure-page">{_picture(pagename, fid)}</figure>',
             f'<p>在书中：<a href="{href(pagename, f"{chapter}.html#{fid}")}">《{html.escape(chapter_title)}》的图 {number}</a>'
             f'（那里有原文、注释和原文未说清之处）。</p>']
    parts.append(_data_table(fid, pagename, chapter))
    if item.get("notes"):
        parts.append(f'<h2 id="notes">注释</h2><p>{html.escape(item["notes"])}</p>')
    parts.append(_sources(fid, pagename, chapter))
    parts.append(_downloads(fid, pagename))
    texts = cite.figure_texts(fid, numbering, version, root)
    templates = {} if root else cite.figure_texts(fid, numbering, version, cite.ROOT_MARK)
    parts.append('<h2 id="cite">引用</h2><p>按你的报告所用的格式复制一种。“[引用日期]”在网页上会换成今天的日期。</p>'
                 + "".join(citation_html(style, text, pagename, templates.get(style)) for style, text in texts.items()))
    # like the citations: the address filled in by a page served from a public host (zzreview.js)
    where = ("代码中的 src 已是本书网站上的完整网址。" if root else
             "src 须是完整网址（以 http:// 或 https:// 开头）：从本书网站打开本页时已自动填好；"
             "从本机打开时，请把它换成本书网站上这一文件的网址。")
    parts.append(f'<h2 id="embed">嵌入</h2><p>把下面的代码放进你的网页，显示这幅图（只有图、出处和本页链接）。{where}</p>'
                 + citation_html("嵌入代码", _embed_code(fid, root), pagename,
                                 None if root else _embed_code(fid, cite.ROOT_MARK), what=""))
    parts.append(changes_html(chapter, pagename))
    return "\n".join(parts)


def _data_table(fid: str, pagename: str, chapter: str) -> str:
    rows = list(csv.DictReader(io.StringIO(cite.figure_csv(fid))))
    body, values = [], []
    for r in rows:
        value = bounds_text(float(r["value"]), r["qualifier"]) if r["value"] else ""
        values.append(value)
        mark = href(pagename, f"{chapter}.html#m-{r['id']}")
        quote = (f'<a href="{mark}">「{html.escape(r["quote"])}」</a>' if r["quote"]
                 else f'—（本书计算：{html.escape(r["note"])}）')  # not the source's words
        body.append(f'<tr><td>{html.escape(r["label"])}</td><td>{html.escape(value)}</td>'
                    f'<td>{html.escape(r["unit"])}</td><td>{quote}</td></tr>')
    head = "".join(f'<th scope="col">{h}</th>' for h in ("指标", "数值", "单位", "原文"))
    bound = "“≥”表示原文带“余”“多”，所给数字是下限；" if any(v.startswith("≥") for v in values) else ""
    return (f'<h2 id="data">数据</h2><div class="zz-cards"><table class="table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>'
            f'<p>{bound}点原文可看它在书中原文里的位置。</p>')


def _sources(fid: str, pagename: str, chapter: str) -> str:
    items = "".join(
        f'<li><a href="{href(pagename, chapter + ".html#m-" + q["id"])}">「{html.escape(q["quote"])}」</a>'
        f'：《{html.escape(q["article"])}》 · {html.escape(q["part"])} · {html.escape(q["paragraph"])}</li>'
        for q in cite.quote_places(fid))
    articles = "".join(f"<li>{html.escape(c)}</li>" for c in cite.article_citations(fid))
    return (f'<h2 id="sources">出处</h2><ul>{items}</ul>'
            f'<p>{html.escape(figures.source_line(figures.drawn_rows(fid)))}</p>'
            f'<p>原文报道（GB/T 7714-2015）：</p><ul>{articles}</ul>')


def _downloads(fid: str, pagename: str) -> str:
    links = "".join(f'<li><a href="{href(pagename, "figures/" + fid + "." + ext)}" download>{label}</a></li>'
                    for ext, label in DOWNLOADS)
    columns = "".join(f"<tr><td><code>{c}</code></td><td>{zh}</td><td>{html.escape(text)}</td></tr>"
                      for c, zh, text in cite.csv_columns(fid))
    codes = "".join(f"<li><code>{c}</code>：{html.escape(text)}</li>" for c, text in cite.qualifier_codes())
    return (f'<h2 id="downloads">下载</h2><ul class="zz-downloads">{links}</ul>'
            f'<details class="zz-fold"><summary>CSV 各列与代码的意思</summary>'
            f'<div class="zz-cards"><table class="table"><thead><tr><th scope="col">列名</th><th scope="col">中文</th>'
            f'<th scope="col">说明</th></tr></thead><tbody>{columns}</tbody></table></div>'
            f'<p><code>qualifier</code>（限定）列的代码：</p><ul>{codes}</ul></details>')


def _embed_code(fid: str, root: str | None) -> str:
    src = f"{root or ''}{embed_name(fid)}.html"
    return (f'<iframe src="{src}" title="{html.escape(figures.entry(fid)["title"])}" '
            f'style="width: 100%; height: 640px; border: 0;" loading="lazy"></iframe>')
