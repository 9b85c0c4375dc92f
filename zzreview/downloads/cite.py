"""Citing and reusing figures: numbers, permanent links, citation text, data downloads.
(Imports of the data and chart modules are deferred: the build asks for the version first,
before it knows whether anything needs doing.)

Everything here is computed at build time from the figure registry, the table of contents, the
data and the release (CITATION.cff); nothing is typed. A citation's address is the book's public
root (html.baseurl, its one authority) and the cited page; without it the address is said to be
unknown (a page served from a public address completes it, book/_static/zzreview.js). The commit
(`git describe --tags --always --dirty`) is shown only in 技术信息 and the JSON metadata.
"""
from __future__ import annotations

import csv
import io
import json
import os
import posixpath
import re
import shutil
import subprocess

from zzreview import meta, paths, records
from zzreview.downloads.zips import write_zip
from zzreview.drawing import figures
from zzreview.newspaper.structure import page


def book_version() -> str:
    if os.environ.get("ZZREVIEW_VERSION"):
        return os.environ["ZZREVIEW_VERSION"]
    try:
        return subprocess.run(["git", "-C", str(paths.REPO), "describe", "--tags", "--always", "--dirty"],
                              capture_output=True, text=True, check=True).stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def commit_label(version: str) -> str:
    """The commit a build was made from, as 技术信息 prints it: a build from uncommitted changes
    says so in words, because its version names a commit whose files it does not match."""
    if version == "unknown":
        return "未知（构建时不在 git 仓库中，无法对应到提交）"
    if version.endswith("-dirty"):
        return f"{version}（基于提交 {version.removesuffix('-dirty')}，另含未提交的改动，不能据此找回确切的源文件）"
    return version


def version_label(version: str = "") -> str:
    """The version a reader quotes: the release of CITATION.cff (footer, title page, citations,
    bundles); the commit (`version`) is shown only in 技术信息 and the figures' JSON metadata. A
    build from uncommitted changes says so, in words."""
    release = meta.release()["version"]
    return f"{release}（另含未提交的改动）" if version.endswith("-dirty") else release


def release_date() -> str:
    """The release's date (CITATION.cff), not the clock's: builds repeat."""
    return meta.release()["date"]


def toc_parts() -> list[dict]:
    """The parts of _toc.yml (caption, numbered, chapters), in reading order."""
    return meta.toc().get("parts", [])


class Numbering:
    """Figure numbers and pages as Sphinx computed them (env.toc_fignumbers): the one authority,
    so a citation, a JSON sidecar and the figure index print what the page prints."""

    def __init__(self, numbers: dict[str, tuple[str, str]]):
        self._numbers = numbers  # fig id → (docname, "1.3")

    @classmethod
    def from_env(cls, env) -> "Numbering":
        numbers = {}
        for doc, by_type in env.toc_fignumbers.items():
            for fig_id, seq in by_type.get("figure", {}).items():
                numbers[fig_id] = (doc, ".".join(str(n) for n in seq))
        return cls(numbers)

    def number(self, fig_id: str) -> str:
        try:
            return self._numbers[fig_id][1]
        except KeyError:
            raise KeyError(f"图 {fig_id!r} 不在书的任何一页上（没有章节展示它）") from None

    def page(self, fig_id: str) -> str:
        return self._numbers[fig_id][0]

    def key(self, fig_id: str) -> list[int]:
        return [int(x) for x in self.number(fig_id).split(".")]


def href(docname: str, target: str) -> str:
    """The address of a file at the site root (with its #fragment) relative to a page. Sphinx's
    relative_uri drops the fragment, so a link to a figure would land at the top of its page."""
    path, _, fragment = target.partition("#")
    rel = posixpath.relpath(path, posixpath.dirname(f"{docname}.html") or ".")
    return rel + (f"#{fragment}" if fragment else "")


def root_from(docname: str) -> str:
    """The site's root relative to a page ("../../" from book/review/risk)."""
    up = posixpath.relpath(".", posixpath.dirname(docname) or ".")
    return "./" if up == "." else up + "/"


def _year() -> str:
    date = release_date()
    return date[:4] if date != "unknown" else "n.d."


UNKNOWN_ADDRESS = "网址不详"
# Where the book's root address goes in a citation the page completes (book/_static/zzreview.js):
# without html.baseurl, a page served from a public http(s) address puts in its own root there.
ROOT_MARK = "@@ROOT@@"


def site_root(baseurl: str) -> str | None:
    """The book's public root address from html.baseurl ("" when unknown), ending in "/"."""
    return baseurl.rstrip("/") + "/" if baseurl else None


def _address(rel: str, root: str | None) -> str:
    """Where a citation points: the book's public root (html.baseurl, the one authority) and the
    page within it; with no root known the address is said to be unknown, never a file path or a
    loopback address."""
    return f"{root}{rel}" if root else UNKNOWN_ADDRESS


BOOK_PAGE = "book/index.html"  # what the book's citation points to: its front page


def figure_page(fig_id: str) -> str:
    """The figure's own page (chart, data, sources, downloads, citation): what a citation points to."""
    return f"figures/{fig_id}.html"


def figure_label(fig_id: str, numbering: Numbering) -> str:
    """"图 2.2 平和县……": the figure's number (Sphinx's) and title, as every citation gives it."""
    return f"图 {numbering.number(fig_id)} {figures.entry(fig_id)['title']}"


def _bibtex(key: str, fields: dict, rel: str, root: str | None) -> str:
    """@misc, as the standard styles print it: `unsrt` and `plainnat` ignore url, urldate and
    version, so the address goes in howpublished (`gbt7714` reads a \\url there too) and the
    version in the title (`gbt7714` prints no note)."""
    if root:
        fields = {**fields, "howpublished": f"\\url{{{root}{rel}}}"}
    else:
        fields = {**fields, "note": f"{fields['note']}，{UNKNOWN_ADDRESS}"}
    order = ("author", "title", "howpublished", "year", "note")
    body = ",\n".join(f"  {k} = {{{fields[k]}}}" for k in order if fields.get(k))
    return f"@misc{{{key},\n{body}\n}}"


def figure_citations(fig_id: str, numbering: Numbering, version: str, root: str | None = None) -> dict[str, str]:

    label = figure_label(fig_id, numbering)
    rel, date, shown = figure_page(fig_id), release_date(), version_label(version)
    link = _address(rel, root)
    author, title = meta.book_author(), meta.book_title()
    return {
        "GB/T 7714-2015": (f"{author}. {title}：{label}（{fig_id}）[EB/OL]. 版本 {shown}. "
                           f"({date}){ACCESS_DATE}. {link}."),
        "APA": (f"{author}. ({_year()}). {label} (Figure {fig_id}) [Figure]. In {title} "
                f"(Version {shown}). {link}"),
        "BibTeX": _bibtex(f"zzreview-{fig_id}", {
            "author": f"{{{author}}}", "title": f"{label}（{fig_id}，《{title}》版本 {shown}）", "year": _year(),
            "note": f"发布于 {date}"}, rel, root),
    }


def figure_texts(fig_id: str, numbering: Numbering, version: str, root: str | None) -> dict[str, str]:
    """What a page offers to cite for a figure: its citations, then the newspaper articles its
    numbers come from."""
    return {**figure_citations(fig_id, numbering, version, root), ARTICLE_STYLE: "\n".join(article_citations(fig_id))}


def _iso_parts(date: str) -> list[int] | None:
    return [int(x) for x in date.split("-")] if re.fullmatch(r"\d{4}-\d\d-\d\d", date) else None


def csl_json(version: str, root: str | None, fig_id: str | None = None, numbering: Numbering | None = None) -> str:
    """CSL-JSON (Zotero, Zotero-based tools, pandoc): the book, or one of its figures."""
    shown, title = version_label(version), meta.book_title()
    item = {"id": "zzreview", "type": "book", "title": title, "author": [{"literal": meta.book_author()}],
            "version": shown, "language": "zh-CN"}
    rel = figure_page(fig_id) if fig_id else BOOK_PAGE
    if fig_id:
        item.update({"id": f"zzreview-{fig_id}", "type": "figure", "container-title": title, "number": fig_id,
                     "title": figure_label(fig_id, numbering)})
    parts = _iso_parts(release_date())
    if parts:
        item["issued"] = {"date-parts": [parts]}
    if root:
        item["URL"] = f"{root}{rel}"
    else:
        item["note"] = UNKNOWN_ADDRESS
    return json.dumps([item], ensure_ascii=False, indent=2) + "\n"


def ris(version: str, root: str | None, fig_id: str | None = None, numbering: Numbering | None = None) -> str:
    """RIS (EndNote, NoteExpress, Zotero): the book, or one of its figures."""
    shown, title = version_label(version), meta.book_title()
    lines = [("TY", "FIGURE" if fig_id else "BOOK"), ("AU", meta.book_author() + ",")]
    if fig_id:
        lines += [("TI", f"{figure_label(fig_id, numbering)}（{fig_id}）"), ("T2", title)]
    else:
        lines.append(("TI", title))
    lines += [("PY", _year()), ("DA", release_date().replace("-", "/")), ("ET", shown), ("LA", "zh-CN")]
    lines.append(("UR", f"{root}{figure_page(fig_id) if fig_id else BOOK_PAGE}") if root else ("N1", UNKNOWN_ADDRESS))
    return "".join(f"{tag}  - {value}\r\n" for tag, value in lines) + "ER  - \r\n"


def paper_citation(version: str, fig_id: str | None = None, numbering: Numbering | None = None) -> str:
    """GB/T 7714 for the printed book ([M]: a monograph), a figure's title and id if one is cited:
    on paper a web address would be useless (the PDF appends the page)."""
    author, title = meta.book_author(), meta.book_title()
    part = f"：{figure_label(fig_id, numbering)}（{fig_id}）" if fig_id else ""
    # GB/T 7714's 出版地: 出版者 — the group publishes the book itself; no place is given anywhere
    return f"{author}. {title}{part}[M]. 版本 {version_label(version)}. [出版地不详]: {author}, {_year()}"


ACCESS_DATE = "[引用日期]"  # GB/T 7714's access date: the page fills in the reader's date
ARTICLE_STYLE = "原文报道（GB/T 7714-2015）"
# words of a byline that say what a person did, not who: 文/图, 摄影报道 …
BYLINE_ROLES = {"文/图", "文", "图", "摄", "摄影", "摄影报道", "记者", "通讯员"}


def byline_authors(byline: str | None) -> list[str]:
    """The names of a byline as printed, without the layout's ⊙ mark, the 「本报讯（…）」 wrapper
    and the role words; GB/T 7714 lists them separated by commas."""
    if not byline:
        return []
    text = byline.replace("⊙", "").strip()
    wrapped = re.fullmatch(r"本报讯（(.+)）", text)
    text = wrapped.group(1) if wrapped else text
    return [word for word in text.split() if word not in BYLINE_ROLES]


def article_title(art) -> str:
    """An article's headline, its subtitle as GB/T 7714's other title information (after "：")."""
    return art.title + (f"：{art.subtitle.lstrip('—').strip()}" if art.subtitle else "")


def article_citations(fig_id: str) -> list[str]:
    """The newspaper articles a figure's numbers come from, cited as GB/T 7714 newspaper
    articles [N]; what the page does not say (paper, date, page) is written as unknown."""
    pg = page()
    sections = dict.fromkeys(r["section"] for r in figures.drawn_rows(fig_id))
    articles = dict.fromkeys(pg.section(s).article_id for s in sections)
    paper = meta.known("newspaper").replace("不详", "报纸名称不详")
    date = meta.known("published").replace("不详", "出版日期不详")
    if meta.source_facts().get("published") == meta.UNKNOWN:  # what the citer adds goes in [ ]
        date = f"[{date}, 不早于 {meta.source_facts()['published_not_before']}]"
    issue = meta.known("page").replace("不详", "版次不详")
    out = []
    for aid in articles:
        art = pg.article(aid)
        authors = ", ".join(byline_authors(art.byline)) or "佚名"
        out.append(f"{authors}. {article_title(art)}[N]. {paper}, {date}({issue}).")
    return out


def book_citations(version: str, root: str | None = None) -> dict[str, str]:
    rel, date, shown = BOOK_PAGE, release_date(), version_label(version)
    link = _address(rel, root)
    author, title = meta.book_author(), meta.book_title()
    return {
        "GB/T 7714-2015": f"{author}. {title}[EB/OL]. 版本 {shown}. ({date}){ACCESS_DATE}. {link}.",
        "APA": f"{author}. ({_year()}). {title} (Version {shown}). {link}",
        "BibTeX": _bibtex("zzreview", {"author": f"{{{author}}}", "title": f"{title}（版本 {shown}）", "year": _year(),
                                       "note": f"发布于 {date}"}, rel, root),
    }


def figure_csv(fig_id: str) -> str:
    """The CSV of what the chart drew, as the chapter's run wrote it beside the drawing."""
    return (paths.generated_dir() / "figures" / f"{fig_id}.csv").read_text(encoding="utf-8")


def figure_metadata(fig_id: str, numbering: Numbering, version: str, root: str | None = None) -> dict:

    item = figures.entry(fig_id)
    rows = figures.drawn_rows(fig_id)
    source = meta.source_facts()
    return {
        "id": fig_id, "number": f"图 {numbering.number(fig_id)}", "title": item["title"],
        "caption": item["caption"].strip(), "form": item["form"], "section": item["section"],
        "page": f"{numbering.page(fig_id)}.html", "figure_page": _address(figure_page(fig_id), root),
        "units": sorted({r["unit"] for r in rows}),
        "metrics": [{k: figures.plain(r.get(k)) for k in figures.DRAWN_COLUMNS} for r in rows],
        "notes": item.get("notes", ""), "book": meta.book_title(), "book_version": version,
        "book_version_label": version_label(version), "built": release_date(),
        "licence": meta.licence()["name"], "rights": meta.rights_statement(),
        "source": {"statement": figures.source_line(rows), "newspaper": source["newspaper"],
                   "published": source["published"], "published_not_before": source["published_not_before"],
                   "citations": article_citations(fig_id), "quotes": quote_places(fig_id)},
        "citation": figure_citations(fig_id, numbering, version, root),
        "renderings": renderings(fig_id),
    }


RENDERINGS = ("png", "svg", "pdf", "narrow.png", "narrow.svg")  # print width, and drawn for a phone


def renderings(fig_id: str) -> dict:
    """Each rendering's width and smallest type, as the chart code recorded when it drew them."""
    return json.loads((paths.generated_dir() / "figures" / f"{fig_id}.sizes.json").read_text(encoding="utf-8"))


def quote_places(fig_id: str) -> list[dict]:
    """Each number of the figure with its verbatim quote and where it stands in the source:
    the article, the part of it, the paragraph."""
    pg = page()
    out = []
    for r in figures.drawn_rows(fig_id):
        if not r["quote"]:
            continue  # a computed row (the remainder of a breakdown) quotes nothing
        sec = pg.section(r["section"])
        art = pg.article(sec.article_id)
        out.append({"id": r["id"], "label": r["label"], "quote": r["quote"],
                    "article": art.title + (art.subtitle or ""), "part": sec.title or "（开篇）",
                    "paragraph": sec.place_of(r["quote"])})
    return out


def _source_rows_csv(fig_id: str) -> str:
    """The figure's rows of data/metrics.csv as they are in the file (every column)."""
    wanted = set(figures.metric_ids(fig_id))
    rows = [row for _, row in records.metric_rows() if row["id"] in wanted]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


BUNDLE_README = """# {number} {title}（{fig_id}）

{caption}

出自《{book}》，版本 {version}（{built} 发布）。本图专页：{address}

## 本包的文件

- `{fig_id}.csv`：图中画的每一行（各列的意思见下表）。
- `{fig_id}.metric-rows.csv`：这些数字在本书数据 `data/metrics.csv` 中的原行（全部字段，原样）。
- 两个 CSV 都是带 BOM 的 UTF-8，中文版 Excel 双击即可正确打开。
- `{fig_id}.json`：元数据（标题、单位、出处、引用文字、各版本图的尺寸）。
- `{fig_id}.svg`、`{fig_id}.pdf`、`{fig_id}.png`：印刷宽度的图；`{fig_id}.narrow.svg`、`{fig_id}.narrow.png`：按手机屏幕宽度画的图。
- `{fig_id}.ris`、`{fig_id}.csl.json`：引用信息，可导入 EndNote、NoteExpress、Zotero 等文献管理软件。

## `{fig_id}.csv` 的列

| 列名 | 中文 | 说明 |
|---|---|---|
{columns}

`qualifier`（限定）列的代码：

{codes}

## 数字的原文与出处

| 指标 | 原文 | 出处（文章 · 部分 · 段） |
|---|---|---|
{quotes}

{statement}

## 许可

{rights}

## 引用本图

GB/T 7714-2015（“[引用日期]”处填你查阅的日期{unknown}）：

    {gbt}

APA：

    {apa}

BibTeX：

```bibtex
{bibtex}
```

## 引用原文报道

GB/T 7714-2015。作者取自原文署名（去掉“文/图”“摄影报道”等）；文章的标题与署名按本书对版面的复原归属。

{articles}
"""

# the figure CSV's columns that data/metrics.csv does not have (the others are described there)
DRAWN_ONLY_COLUMNS = {
    "lower_bound": ("下限", "原文写法所允许的最小值：确数等于数值；“余”“多”等于数值；“近”为 0；“约”“许”空着（不详）。"),
    "upper_bound": ("上限", "原文写法所允许的最大值：确数等于数值；“近”等于数值；“余”“多”“约”“许”空着（不详）。"),
}


def csv_columns(fig_id: str) -> list[tuple[str, str, str]]:
    """(column, Chinese name, explanation) for each column of a figure's CSV: the data package's
    descriptions of data/metrics.csv (their one authority), and the columns only the CSV has."""
    fields = {f["name"]: f for res in meta.datapackage()["resources"] if res["name"] == "metrics"
              for f in res["schema"]["fields"]}
    out = []
    for name in figures.DRAWN_COLUMNS:
        if name in fields:
            out.append((name, fields[name]["title"], fields[name].get("description", "")))
        else:
            out.append((name, *DRAWN_ONLY_COLUMNS[name]))
    if figures.entry(fig_id)["form"] == "partial":
        out.append(("（“其余”一行）", "其余", "由总数减去原文点名的各类算出，原文没有这个数；它的“原文”列空着。"))
    return out


def qualifier_codes() -> list[tuple[str, str]]:
    from zzreview.dataset.quantity import QUALIFIERS

    return list(QUALIFIERS.items())


def figure_bundle_readme(fig_id: str, meta_: dict) -> str:
    """The bundle's README, from the figure's metadata (figure_metadata)."""
    item = figures.entry(fig_id)
    texts = meta_["citation"]
    quotes = "\n".join(f"| {q['label']} | 「{q['quote']}」 | 《{q['article']}》 · {q['part']} · {q['paragraph']} |"
                       for q in meta_["source"]["quotes"])
    return BUNDLE_README.format(
        number=meta_["number"], title=item["title"], fig_id=fig_id, caption=meta_["caption"],
        book=meta_["book"], version=meta_["book_version_label"], built=meta_["built"],
        address=meta_["figure_page"] + ("" if "://" in meta_["figure_page"] else f"（在本书网站上是 {figure_page(fig_id)}）"),
        columns="\n".join(f"| `{c}` | {zh} | {text} |" for c, zh, text in csv_columns(fig_id)),
        codes="\n".join(f"- `{code}`：{text}" for code, text in qualifier_codes()),
        unknown="" if "://" in meta_["figure_page"] else "；本书的公开网址不详，请补上你取得本图的网址",
        quotes=quotes, statement=meta_["source"]["statement"], rights=meta_["rights"],
        gbt=texts["GB/T 7714-2015"], apa=texts["APA"], bibtex=texts["BibTeX"],
        articles="\n".join(f"- {c}" for c in meta_["source"]["citations"]))


EXCEL_CSV = "utf-8-sig"  # a BOM: Excel on Chinese Windows reads the file as UTF-8, not GBK


def write_figure_downloads(fig_id: str, target, numbering: Numbering, version: str, root: str | None = None) -> list:
    """PNG, SVG, PDF (as drawn; PNG and SVG also for a phone), CSV (the data drawn, with a BOM),
    JSON (the metadata), RIS and CSL-JSON (for reference managers), and all of them in one ZIP
    with the figure's rows of the data and a README."""
    target.mkdir(parents=True, exist_ok=True)
    drawn = paths.generated_dir() / "figures"
    written = []
    for fmt in RENDERINGS:
        shutil.copyfile(drawn / f"{fig_id}.{fmt}", target / f"{fig_id}.{fmt}")
        written.append(target / f"{fig_id}.{fmt}")
    # what a phone's page and the figure index show (not a download: the SVG and PNG are)
    shutil.copyfile(drawn / f"{fig_id}.narrow.webp", target / f"{fig_id}.narrow.webp")
    metadata = figure_metadata(fig_id, numbering, version, root)
    texts = {"csv": (figure_csv(fig_id), EXCEL_CSV),
             "json": (json.dumps(metadata, ensure_ascii=False, indent=2) + "\n", "utf-8"),
             "ris": (ris(version, root, fig_id, numbering), "utf-8"),
             "csl.json": (csl_json(version, root, fig_id, numbering), "utf-8")}
    for ext, (text, encoding) in texts.items():
        (target / f"{fig_id}.{ext}").write_bytes(text.encode(encoding))
        written.append(target / f"{fig_id}.{ext}")
    members = {path.name: path.read_bytes() for path in written}
    members[f"{fig_id}.metric-rows.csv"] = _source_rows_csv(fig_id).encode(EXCEL_CSV)
    members["README.md"] = figure_bundle_readme(fig_id, metadata).encode("utf-8")
    written.append(write_zip(target / f"{fig_id}.zip", members, fig_id))
    return written


def write_book_citations(target, version: str, root: str | None) -> list:
    """The book's citation for reference managers: RIS and CSL-JSON."""
    target.mkdir(parents=True, exist_ok=True)
    files = {target / "zzreview.ris": ris(version, root), target / "zzreview.csl.json": csl_json(version, root)}
    for path, text in files.items():
        path.write_text(text, encoding="utf-8", newline="")
    return list(files)
