"""Rerunning the book without its repository: each chapter as a notebook a reader can follow, and
one replication package (a ZIP) that holds everything needed to run them all.

The notebooks are the chapters as the build executed them (outputs taken from the execution
cache, so a downloaded notebook reads like its page before anything runs). Where a cell draws a
figure, the notebook shows where the figure's numbers come from: a cell that reads them into a
pandas DataFrame, and the chart call that receives it (`zz.figure(id, data)`). The book's own
chapters stay one line per figure.

The ZIP is made the same way every time (sorted names, the commit's date on every entry), so two
builds of one commit give the same bytes.
"""
from __future__ import annotations

import re
import string
from pathlib import Path

import nbformat
from jupyter_cache import get_cache

from zzreview import meta, paths, records
from zzreview.downloads import cite
from zzreview.downloads.zips import write_zip
from zzreview.drawing import figures
from zzreview.drawing.figures import figure_data, metric_ids
from zzreview.site.chapters import READS_MIME

NOTEBOOK_REQUIREMENTS = "requirements-notebooks.txt"  # the lock the package installs (scripts/lock.sh)
README_TEMPLATE = Path(__file__).with_name("replication-README.md")
# what the package holds from the repository, besides data/ (paths.data_dir()), the notebooks and its README
REPOSITORY_FILES = ("_config.yml", "_toc.yml", "pyproject.toml", "CITATION.cff", "book/**/*", "zzreview/**/*.py",
                    "zzreview/downloads/replication-README.md")
FIGURE_OUTPUTS = ("svg", "pdf", "png", "csv")  # the files of a figure its README lists (figures.save writes more)
MAIN_PACKAGES = ("pandas", "matplotlib", "cn2an", "frictionless", "nbclient", "ipykernel")  # named in its README


def package_name() -> str:
    return f"{meta.pdf_name()}-replication"


def zip_name() -> str:
    return f"{package_name()}.zip"


def _figure_drawn(output) -> str | None:
    """The figure id a cell's output shows (book.FigureOutput tags its output with it)."""
    return ((output.get("metadata") or {}).get("zzreview") or {}).get("figure")


def data_cell_source(fig_id: str) -> str:

    first = metric_ids(fig_id)[0]
    return (f"# 本图画的数字：data/metrics.csv 中的这几行（pandas DataFrame，按指标编号索引）。\n"
            f"data = zz.figure_data(\"{fig_id}\")\n"
            f"# 要改数值、名称（label）或单位（unit）：去掉下一行开头的 # 并改数字，运行本格，再运行下一格。\n"
            f"# data.loc[\"{first}\", \"value\"] = 123\n"
            f"data")


def _data_outputs(fig_id: str) -> list:
    """What running the data cell shows: the DataFrame, as IPython displays one."""
    df = figure_data(fig_id)
    return [nbformat.v4.new_output("execute_result", data={"text/plain": repr(df), "text/html": df._repr_html_()},
                                   execution_count=None)]


def intro_cell(docname: str):

    return nbformat.v4.new_markdown_cell(
        f"> 本笔记本是《{meta.book_title()}》的一章（`{docname}`），带着构建时的运行结果。"
        f"要重新运行，请下载本书网站上的复现包 `{zip_name()}`，按其中 README 的步骤安装后打开 "
        f"`notebooks/{docname}.ipynb`。画图的格前面有一格“数据格”：照格中的例子改数字、名称或单位，"
        "运行这一格，再运行画图的格，图就随之改变。")


CONTAINER = re.compile(r"^````(\{container\}.*)?$\n?", re.M)  # the book's styling fences (book._container)
ADMONITION = re.compile(r"^:::\{admonition\} (?P<title>[^\n]*)\n(:class: [^\n]*\n)?(?P<body>.*?)^:::$", re.M | re.S)
ROLE = re.compile(r"\{(numref|doc|ref)\}`([^`]*)`")


def _plain_markdown(text: str, numbering) -> str:
    """MyST the book renders, as Jupyter's Markdown shows it: a figure reference becomes its
    number (图 1.3), a page reference its name, the styling fences go."""
    def role(m):
        target = m.group(2).split("<")[-1].rstrip(">")
        if m.group(1) == "numref":
            try:
                return f"图 {numbering.number(target)}"
            except KeyError:
                return target
        return target

    text = ADMONITION.sub(lambda m: f"**{m.group('title')}**\n\n{m.group('body')}", text)
    return ROLE.sub(role, CONTAINER.sub("", text))


def recorded_reads(cell) -> bool:
    return any(READS_MIME in (out.get("data") or {}) for out in cell.get("outputs", []))


def readable_notebook(chapter, cache_dir: Path, numbering):
    """The chapter as executed by the build, with a data cell before each figure it draws."""
    _, nb = get_cache(str(cache_dir)).merge_match_into_notebook(chapter.notebook)
    cells = [intro_cell(chapter.docname)]
    for cell in nb.cells:  # the merged notebook is this function's own copy: changed in place
        if recorded_reads(cell):
            continue  # the build's record of what the chapter read: of no use to a reader
        if cell.cell_type == "markdown":
            cell.source = _plain_markdown(cell.source, numbering)
        drawn = []
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if _figure_drawn(output):  # the MyST figure points into the build's folders; Jupyter shows the HTML
                drawn.append(_figure_drawn(output))
                data.pop("text/markdown", None)
            elif "text/markdown" in data:  # a book.Markdown: both its texts
                for mime in ("text/markdown", "text/plain"):
                    if mime in data:
                        data[mime] = _plain_markdown(data[mime], numbering)
        if len(drawn) == 1 and cell.source.strip() == f'zz.figure("{drawn[0]}")':
            data_cell = nbformat.v4.new_code_cell(data_cell_source(drawn[0]))
            data_cell.outputs = _data_outputs(drawn[0])
            cells.append(data_cell)
            cell.source = f'zz.figure("{drawn[0]}", data)'
        cells.append(cell)
    nb.cells = cells
    count = 0
    for i, cell in enumerate(nb.cells):  # nbformat draws random cell ids; builds must repeat
        cell.id = f"cell-{i}"
        if cell.cell_type == "code" and cell.get("outputs") is not None:
            # numbered as one fresh kernel would: the build's kernels ran chapters in groups of any size
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if output.get("output_type") == "execute_result":
                    output["execution_count"] = count
    return nb


def write_notebooks(chapters, cache_dir: Path, target: Path, numbering) -> dict[str, Path]:

    written = {}
    for ch in chapters:
        path = target / f"{ch.docname}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(readable_notebook(ch, cache_dir, numbering), str(path))
        written[ch.docname] = path
    return written


def _repository_files() -> dict[str, Path]:
    files = {}
    for pattern in REPOSITORY_FILES:
        for path in paths.REPO.glob(pattern):
            # (not what a build makes from them: Sphinx compiles book/_locale's .po into a .mo)
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".mo":
                files[path.relative_to(paths.REPO).as_posix()] = path
    for path in paths.data_dir().rglob("*"):
        if path.is_file():
            files["data/" + path.relative_to(paths.data_dir()).as_posix()] = path
    files["requirements.txt"] = paths.REPO / NOTEBOOK_REQUIREMENTS
    return files


def exhibits_table(numbering) -> str:
    """Each figure: its number, id, title, the notebook that draws it and the files it writes."""
    rows = ["| 图 | 编号 | 标题 | 笔记本 | 输出文件（`_build/generated/figures/`） |", "|---|---|---|---|---|"]
    for item in sorted(figures.registry(), key=lambda i: numbering.key(i["id"])):
        fid = item["id"]
        outs = "、".join(f"`{fid}.{ext}`" for ext in FIGURE_OUTPUTS)
        rows.append(f"| 图 {numbering.number(fid)} | `{fid}` | {item['title']} | "
                    f"`notebooks/{numbering.page(fid)}.ipynb` | {outs} |")
    return "\n".join(rows)


def readme(numbering, version: str, notebooks: dict[str, Path], root: str | None = None) -> str:

    facts = meta.source_facts()
    unknown = "原文中没有，不详"
    requirements = (paths.REPO / NOTEBOOK_REQUIREMENTS).read_text(encoding="utf-8")
    pins = dict(line.split("==", 1) for line in requirements.splitlines() if "==" in line and not line.startswith("#"))
    main = "、".join(f"{name} {pins[name]}" for name in MAIN_PACKAGES if name in pins)
    return string.Template(README_TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=meta.book_title(), package=package_name(), zip=zip_name(),
        version=cite.version_label(version), built=cite.release_date(),
        newspaper=unknown if facts["newspaper"] == meta.UNKNOWN else facts["newspaper"],
        published=unknown if facts["published"] == meta.UNKNOWN else facts["published"],
        not_before=facts["published_not_before"], received=facts["received_as"],
        rights=meta.rights_statement(), licence=meta.licence()["name"],
        python=meta.python_floor(), pins=len(pins), main=main,
        notebooks="\n".join(f"  - `notebooks/{doc}.ipynb`" for doc in notebooks),
        exhibits=exhibits_table(numbering),
        citation=cite.book_citations(version, root)["GB/T 7714-2015"],
        articles="\n".join(f"- {c}" for c in _all_article_citations()),
        code_licence=_code_licence())


def _all_article_citations() -> list[str]:
    """Every article the figures draw from, once, in reading order."""
    return list(dict.fromkeys(c for item in figures.registry() for c in cite.article_citations(item["id"])))


def _code_licence() -> str:
    """What CITATION.cff says of the whole work; the code has no licence of its own."""
    return (records.yaml_file(paths.REPO / "CITATION.cff") or {}).get("license") or "不详"


def write_package(target_dir: Path, numbering, version: str, notebooks: dict[str, Path],
                  notebooks_root: Path, root: str | None = None) -> Path:
    members = {name: path.read_bytes() for name, path in _repository_files().items()}
    for path in notebooks.values():
        members["notebooks/" + path.relative_to(notebooks_root).as_posix()] = path.read_bytes()
    members["README.md"] = readme(numbering, version, notebooks, root).encode("utf-8")
    return write_zip(target_dir / zip_name(), members, package_name())
