"""Facts about the book and its source, each read from its one authority; everything that prints
one of them asks here. Light on purpose (json and yaml only): Sphinx and the build import it.

- _config.yml: the book's title and author, the PDF's name, the page and margins (so a chart's
  print width is the text block's, not a typed guess);
- CITATION.cff: the release (version and date) a reader quotes;
- data/datapackage.json: the licence, what the source is and what it does not say (newspaper,
  page, date), and the statement of rights.
"""
from __future__ import annotations

import re
import subprocess
import tomllib

from zzreview import paths, records

UNKNOWN = "unknown"
# x_source fields that can be unknown, as a reader names them
SOURCE_FIELDS_ZH = {"newspaper": "报纸名称", "page": "版次", "published": "出版日期"}
PAPER_MM = {"a4paper": (210.0, 297.0), "letterpaper": (215.9, 279.4)}


def config() -> dict:
    """_config.yml (records.py reads it)."""
    return records.yaml_file(paths.config_path()) or {}


def datapackage() -> dict:
    """data/datapackage.json (validated before a build)."""
    return records.json_file(paths.datapackage_path())


def toc() -> dict:
    """_toc.yml: the book's reading order."""
    return records.yaml_file(paths.toc_path()) or {}


def release() -> dict:
    """The release a reader quotes, from CITATION.cff (its one authority): {"version", "date"}.
    The footer, the title page, citations and bundles print it; the commit only 技术信息 shows."""
    cff = records.yaml_file(paths.REPO / "CITATION.cff") or {}
    return {"version": str(cff.get("version", UNKNOWN)), "date": str(cff.get("date-released", UNKNOWN))}


def commit_epoch() -> str:
    """The checked-out commit's time (seconds since 1970): builds are dated by the commit, not the
    clock, so two builds of one commit are the same. "0" outside a git repository."""
    try:
        out = subprocess.run(["git", "-C", str(paths.REPO), "log", "-1", "--format=%ct"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "0"
    return out or "0"


def toc_files() -> list[str]:
    """Every page of the table of contents, in reading order (paths without .md)."""
    book = toc()
    files = [book["root"]]

    def walk(entries):
        for entry in entries or []:
            files.append(entry["file"])
            walk(entry.get("sections"))

    for part in book.get("parts", []):
        walk(part.get("chapters"))
    return files


# --- the book (_config.yml) ----------------------------------------------------------------------

def book_title() -> str:
    return config()["title"]


def book_author() -> str:
    return config()["author"]


def python_floor() -> str:
    """The oldest Python the book runs on: pyproject.toml's requires-python (">=X.Y.Z")."""
    spec = tomllib.loads((paths.REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    return spec.removeprefix(">=")


def pdf_name() -> str:
    """The PDF's file name without .pdf: _config.yml's latex_documents targetname."""
    return config()["latex"]["latex_documents"]["targetname"].removesuffix(".tex")


def _latex_elements() -> dict:
    return config()["sphinx"]["config"]["latex_elements"]


def text_width_in() -> float:
    """Width of the PDF's text block in inches: paper width less the side margins, as configured."""
    elements = _latex_elements()
    width_mm = PAPER_MM[elements["papersize"]][0]
    margins = re.search(r"hmargin=\{([\d.]+)(cm|mm),\s*([\d.]+)(cm|mm)\}", elements["sphinxsetup"])
    to_mm = {"cm": 10.0, "mm": 1.0}
    left = float(margins.group(1)) * to_mm[margins.group(2)]
    right = float(margins.group(3)) * to_mm[margins.group(4)]
    return (width_mm - left - right) / 25.4


# --- the data package ----------------------------------------------------------------------------

def licence() -> dict:
    """The licence of the book's data and notes, with the statement of rights the book prints."""
    return datapackage()["licenses"][0]


def rights_statement() -> str:
    return licence()["x_statement"]


def source_facts() -> dict:
    return datapackage()["x_source"]


def source_description() -> str:
    return datapackage()["description"]


def unknowns_text() -> str:
    """What the source does not say, in words: 「报纸名称、版次与出版日期不详，不早于 2022-01-01」."""
    x = source_facts()
    unknown = [zh for key, zh in SOURCE_FIELDS_ZH.items() if x.get(key) == UNKNOWN]
    text = ("、".join(unknown[:-1]) + "与" + unknown[-1] if len(unknown) > 1 else "".join(unknown)) + "不详"
    if x.get("published") == UNKNOWN and x.get("published_not_before"):
        text += f"；据文中日期推断不早于 {x['published_not_before']}"
    return text


def known(key: str) -> str:
    """A source fact as printed: its value, or 不详."""
    value = source_facts().get(key, UNKNOWN)
    return "不详" if value == UNKNOWN else value


def source_line(article_titles: list[str]) -> str:
    """The line under a chart: the articles its numbers come from, by their printed headlines,
    and what is unknown about where they were printed."""
    named = "、".join(f"《{t}》" for t in dict.fromkeys(article_titles))
    return f"资料来源：{named}，报纸版面（{unknowns_text()}）；整理：{book_author()}"
