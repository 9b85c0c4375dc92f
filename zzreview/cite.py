"""Citing and reusing figures: numbers, permanent links, citation text, data downloads.
(Imports of the data and chart modules are deferred: the build asks for the version first,
before it knows whether anything needs doing.)

Everything here is computed at build time from the figure registry, the table of contents, the
data and the build's version; nothing is typed. The book's version is the git description of the
commit it was built from (`git describe --tags --always --dirty`), so a cited figure can be traced
to the exact build that made it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess

from . import meta, paths


def book_version() -> str:
    if os.environ.get("ZZREVIEW_VERSION"):
        return os.environ["ZZREVIEW_VERSION"]
    try:
        return subprocess.run(["git", "-C", str(paths.REPO), "describe", "--tags", "--always", "--dirty"],
                              capture_output=True, text=True, check=True).stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def version_label(version: str) -> str:
    """The version as printed: a build from uncommitted changes says so in words, because its
    version names a commit whose files it does not match."""
    if version == "unknown":
        return "未知（构建时不在 git 仓库中，无法对应到提交）"
    if version.endswith("-preview"):
        return f"{version}（预览：基于提交 {version.removesuffix('-preview')} 与未提交的改动，不可引用）"
    if version.endswith("-dirty"):
        return f"{version}（基于提交 {version.removesuffix('-dirty')}，另含未提交的改动，不能据此找回确切的源文件）"
    return version


def build_date() -> str:
    """The date of the build's commit (SOURCE_DATE_EPOCH), not of the clock: builds repeat."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return "unknown"
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()


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
            raise KeyError(f"figure {fig_id!r} is not on any page of the book (no chapter shows it)") from None

    def page(self, fig_id: str) -> str:
        return self._numbers[fig_id][0]

    def key(self, fig_id: str) -> list[int]:
        return [int(x) for x in self.number(fig_id).split(".")]

    def permalink(self, fig_id: str, baseurl: str = "") -> str:
        return f"{baseurl}{self.page(fig_id)}.html#{fig_id}"


def _year() -> str:
    date = build_date()
    return date[:4] if date != "unknown" else "n.d."


def figure_citations(fig_id: str, numbering: Numbering, version: str, baseurl: str = "") -> dict[str, str]:
    from . import figures

    item = figures.entry(fig_id)
    label = f"图 {numbering.number(fig_id)} {item['title']}"
    link, date, shown = numbering.permalink(fig_id, baseurl), build_date(), version_label(version)
    author, title = meta.book_author(), meta.book_title()
    return {
        "GB/T 7714-2015": (f"{author}. {title}：{label}（{fig_id}）[EB/OL]. 版本 {shown}. "
                           f"({date})[引用日期]. {link}."),
        "APA": (f"{author}. ({_year()}). {label} (Figure {fig_id}) [Figure]. In {title} "
                f"(Version {shown}). {link}"),
        "BibTeX": (f"@misc{{zzreview-{fig_id},\n  author = {{{{{author}}}}},\n"
                   f"  title = {{{label}}},\n  howpublished = {{{title}}},\n  year = {{{_year()}}},\n"
                   f"  version = {{{shown}}},\n  url = {{{link}}},\n  note = {{Figure ID {fig_id}}}\n}}"),
    }


def book_citations(version: str, baseurl: str = "") -> dict[str, str]:
    link, date, shown = f"{baseurl}book/index.html", build_date(), version_label(version)
    author, title = meta.book_author(), meta.book_title()
    return {
        "GB/T 7714-2015": f"{author}. {title}[EB/OL]. 版本 {shown}. ({date})[引用日期]. {link}.",
        "APA": f"{author}. ({_year()}). {title} (Version {shown}). {link}",
        "BibTeX": (f"@book{{zzreview,\n  author = {{{{{author}}}}},\n  title = {{{title}}},\n"
                   f"  year = {{{_year()}}},\n  version = {{{shown}}},\n  url = {{{link}}}\n}}"),
    }


# the drawn rows (figures.drawn_rows) as the CSV download gives them
DRAWN_COLUMNS = ["id", "label", "value", "unit", "qualifier", "lower_bound", "upper_bound", "quote", "note"]


def _plain(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def figure_csv(fig_id: str) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=DRAWN_COLUMNS, lineterminator="\n")
    writer.writeheader()
    from .figures import drawn_rows

    for row in drawn_rows(fig_id):
        writer.writerow({k: ("" if row.get(k) is None else _plain(row[k])) for k in DRAWN_COLUMNS})
    return buf.getvalue()


def figure_metadata(fig_id: str, numbering: Numbering, version: str, baseurl: str = "") -> dict:
    from . import figures

    item = figures.entry(fig_id)
    rows = figures.drawn_rows(fig_id)
    source = meta.source_facts()
    return {
        "id": fig_id, "number": f"图 {numbering.number(fig_id)}", "title": item["title"],
        "caption": item["caption"].strip(), "form": item["form"], "section": item["section"],
        "page": f"{numbering.page(fig_id)}.html", "permalink": numbering.permalink(fig_id, baseurl),
        "units": sorted({r["unit"] for r in rows}),
        "metrics": [{k: _plain(r.get(k)) for k in DRAWN_COLUMNS} for r in rows],
        "notes": item.get("notes", ""), "book": meta.book_title(), "book_version": version,
        "book_version_label": version_label(version), "built": build_date(),
        "licence": meta.licence()["name"], "rights": meta.rights_statement(),
        "source": {"statement": figures.source_line(rows), "newspaper": source["newspaper"],
                   "published": source["published"], "published_not_before": source["published_not_before"]},
        "citation": figure_citations(fig_id, numbering, version, baseurl),
        "renderings": renderings(fig_id),
    }


RENDERINGS = ("png", "svg", "pdf", "narrow.png", "narrow.svg")  # print width, and drawn for a phone


def renderings(fig_id: str) -> dict:
    """Each rendering's width and smallest type, as the chart code recorded when it drew them."""
    return json.loads((paths.generated_dir() / "figures" / f"{fig_id}.sizes.json").read_text(encoding="utf-8"))


def write_figure_downloads(fig_id: str, target, numbering: Numbering, version: str, baseurl: str = "") -> list:
    """PNG, SVG, PDF (as drawn; PNG and SVG also for a phone), CSV (the data drawn) and JSON (the
    metadata) into target."""
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    drawn = paths.generated_dir() / "figures"
    written = []
    for fmt in RENDERINGS:
        shutil.copyfile(drawn / f"{fig_id}.{fmt}", target / f"{fig_id}.{fmt}")
        written.append(target / f"{fig_id}.{fmt}")
    (target / f"{fig_id}.csv").write_text(figure_csv(fig_id), encoding="utf-8")
    (target / f"{fig_id}.json").write_text(
        json.dumps(figure_metadata(fig_id, numbering, version, baseurl), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8")
    return written + [target / f"{fig_id}.csv", target / f"{fig_id}.json"]
