"""Validate everything the book reads, before any chapter executes.

Order matters: the source hash first (all else refers to it), then the files as files (present,
UTF-8, not empty), then the Frictionless Data Package (types, constraints, keys), then the
checks a schema cannot express: quotes found in the source, values equal to the parse of their
quote, every numeral accounted for, the page structure complete. Each problem names the file,
row and column and hints at the fix.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from frictionless import FrictionlessException, Package

from zzreview import meta, paths, records
from zzreview.dataset.quantity import ParseError, parse
from zzreview.drawing.forms import FORMS
from zzreview.errors import DataError, Problem
from zzreview.newspaper import source, structure
from zzreview.newspaper.inventory import occurrences, stated_numbers, uncovered
from zzreview.newspaper.source import squash

PLAIN_NUMBER_HINT = "请写普通的半角数字，如 1012000，不写“万”，也不加千位分隔符"
HEADER_HINT = "请恢复列名；各列见 data/datapackage.json"
HINTS = {
    "type-error": PLAIN_NUMBER_HINT,
    "constraint-error": "该列的约束见 data/datapackage.json",
    "unique-error": "id 一经使用便固定、不再复用：请给这一行一个新的 id",
    "primary-key": "id 一经使用便固定、不再复用：请给这一行一个新的 id",
    "missing-label": HEADER_HINT,
    "incorrect-label": HEADER_HINT,
    "blank-label": HEADER_HINT,
    "extra-label": "请删去该列，或在 data/datapackage.json 中声明它",
    "extra-cell": "这一行的单元格比列多：含逗号的文字须用英文双引号括起来",
    "missing-cell": "这一行的单元格比列少：请补齐缺少的单元格（空值也要留逗号）",
    "blank-row": "请删去空行",
}
TYPES_ZH = {"number": "数字", "integer": "整数", "string": "文字", "boolean": "布尔值", "date": "日期"}
LABEL_ERRORS = ("missing-label", "incorrect-label", "blank-label", "extra-label")


def _constraint_zh(note: str) -> str:
    """Frictionless's 'constraint "minimum" is "0"', said in Chinese."""
    m = re.fullmatch(r'constraint "(\w+)" is "(.*)"', note or "", re.S)
    if not m:
        return f"不满足约束（{note}）"
    name, value = m.groups()
    return {"required": "不能为空", "minimum": f"不能小于 {value}", "maximum": f"不能大于 {value}",
            "minLength": f"至少须有 {value} 个字符", "maxLength": f"至多只能有 {value} 个字符",
            "pattern": f"不符合规定的格式 {value}", "enum": f"须是以下之一：{value}",
            "unique": "与另一行重复"}.get(name, f"不满足约束 {name} = {value}")


def _frictionless_reason(err, column) -> str:
    """One error of a frictionless report, as a reason in Chinese (a kind it has no words for:
    frictionless's own title and note)."""
    note = err.note or ""
    if err.type == "type-error":
        m = re.search(r'type is "(\w+)', note)
        kind = m.group(1) if m else ""
        return f"不是{TYPES_ZH.get(kind, kind or '规定的类型')}"
    if err.type == "constraint-error":
        return _constraint_zh(note)
    if err.type in ("unique-error", "primary-key"):
        m = re.search(r"position (\d+)", note)
        if m:
            return f"id 重复：与第 {m.group(1)} 行相同"
        return "这一行没有 id" if "None" in note else "id 重复"
    label = getattr(err, "label", "")
    return {"incorrect-label": f"列名是 {label!r}，应为 {column!r}",
            "missing-label": f"缺少列 {column!r}",
            "blank-label": f"列名为空，应为 {column!r}",
            "extra-label": f"多出了列 {label!r}",
            "extra-cell": "多出了单元格",
            "missing-cell": "缺少单元格",
            "blank-row": "空行"}.get(err.type, f"{err.title}：{note}" if note else err.title)


PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
PLAIN_INTEGER = re.compile(r"-?[0-9]+")


def number_form_problem(cell: str, integer: bool = False) -> tuple[str, str] | None:
    """Why a numeric cell is not written as the book's tables read numbers (ASCII digits, an
    optional '.'), as (reason, hint); None if it is, or is empty. Python's float() and the
    schema check accept full-width digits (１２３), other scripts' digits and 1_000; pandas does
    not, so such a value would pass here and break the book later."""
    if not cell or (PLAIN_INTEGER if integer else PLAIN_NUMBER).fullmatch(cell):
        return None
    what = "整数" if integer else "数字"
    suggestion = unicodedata.normalize("NFKC", cell).strip()
    fixable = (PLAIN_INTEGER if integer else PLAIN_NUMBER).fullmatch(suggestion)
    wide = [c for c in cell if unicodedata.east_asian_width(c) == "F"]
    if wide:
        return (f"{cell!r} 含全角字符（{''.join(dict.fromkeys(wide))}），不是可读的{what}",
                f"请改用半角数字{'：' + suggestion if fixable else ''}")
    if any(c.isdigit() and not "0" <= c <= "9" for c in cell):
        return (f"{cell!r} 含非半角（0–9）的数字字符，不是可读的{what}",
                f"请改用半角数字{'：' + suggestion if fixable else ''}")
    return (f"{cell!r} 不是普通的{what}", PLAIN_NUMBER_HINT if not integer else "请写普通的半角整数，如 3")


def _readable(read) -> tuple[object, list[Problem]]:
    """What a reader of records.py returns, or the problems that stopped it."""
    try:
        return read(), []
    except DataError as exc:
        return None, exc.problems


def _package_problems() -> list[Problem]:

    dp = paths.datapackage_path()
    rel_dp = paths.relpath(dp)
    descriptor, unreadable = _readable(lambda: records.json_file(dp))
    if unreadable:
        return unreadable
    problems: list[Problem] = []
    try:
        report = Package(descriptor, basepath=str(dp.parent)).validate()
    except FrictionlessException as exc:
        return [Problem(rel_dp, f"数据包描述无效：{exc.error.message}",
                        hint="请对照 Data Package 规范修改，或从 git 恢复该文件")]
    for task in report.tasks:
        rel = paths.relpath(dp.parent / task.place) if task.place else rel_dp
        unique_rows = {e.row_number for e in task.errors if e.type == "unique-error"}
        for err in task.errors:
            if err.type == "primary-key" and err.row_number in unique_rows:
                continue  # the same duplicate id, already reported for its column
            row = getattr(err, "row_number", None)
            column = getattr(err, "field_name", None) or getattr(err, "label", None)
            reason, hint = _frictionless_reason(err, column), HINTS.get(err.type)
            if err.type in LABEL_ERRORS:
                row = 1
            cell = getattr(err, "cell", None)
            form = number_form_problem(cell) if err.type == "type-error" and isinstance(cell, str) else None
            if form:
                reason, hint = form
            elif cell not in (None, "", "None") and row != 1:
                reason += f"（单元格内容为 {cell!r}）"
            problems.append(Problem(rel, reason, row=row, column=column, hint=hint))
    for err in report.errors:
        problems.append(Problem(rel_dp, f"数据包有误：{err.title}：{err.note}",
                                hint="请对照 Data Package 规范修改，或从 git 恢复该文件"))
    for res in descriptor.get("resources", []):  # a code the book prints needs its Chinese name
        for field in res.get("schema", {}).get("fields", []):
            unnamed = set(field.get("constraints", {}).get("enum", [])) - set(field.get("x_labels", {}))
            if "x_labels" in field and unnamed:
                problems.append(Problem(rel_dp, f"资源 {res['name']} 的 {field['name']} 列有代码没有中文名称："
                                        f"{'、'.join(sorted(unnamed))}", hint="请在该列的 x_labels 中补上"))
    return problems


def _metric_row_problems(pg: structure.Page) -> list[Problem]:
    path = paths.metrics_path()
    rel = paths.relpath(path)
    problems: list[Problem] = []
    sections = set(pg.section_ids())
    for line, row in records.csv_rows(path):
        def bad(column, reason, hint=None):
            problems.append(Problem(rel, reason, row=line, column=column, hint=hint))

        quote = row.get("quote") or ""
        section = row.get("section") or ""
        if section and section not in sections:
            bad("section", f"没有名为 {section!r} 的部分", "请使用 data/source/layout.yaml 中的部分 id")
            continue
        hits = len(occurrences(quote)) if quote else 0
        if quote and hits == 0:
            bad("quote", f"引文 {quote!r} 不在原文中",
                "请从 data/source/000_29b51da462fdfb9d.txt 逐字复制该短语（空白不计）")
            continue
        if hits > 1:
            bad("quote", f"引文 {quote!r} 在原文中出现了 {hits} 次",
                "请加长该短语，直到它在原文中只出现一次")
        # provenance is checked against the part the row names, not just the page
        if quote and section and squash(quote) not in pg.section(section).text:
            elsewhere = [s for s in sections if squash(quote) in pg.section(s).text]
            bad("section", f"引文 {quote!r} 不在部分 {section!r} 的文字中"
                + (f"，而在 {'、'.join(map(repr, elsewhere))} 中" if elsewhere else ""),
                "请把 section 设为引文所在的部分")
        try:
            q = parse(quote)
        except ParseError as exc:
            bad("quote", str(exc), "引文须包含它所支持的那个数字，且只含这一个")
            continue
        kind = row.get("kind") or ""
        if kind in ("date", "time"):
            if row.get("value"):
                bad("value", f"{kind} 行没有数值，其日期写在 when 列", "请清空 value 单元格")
            if (row.get("when") or "") != (q.when or ""):
                bad("when", f"when 为 {row.get('when')!r}，但引文说的是 {q.when!r}",
                    f"请把 when 设为 {q.when}")
        else:
            form = number_form_problem(row.get("value") or "")
            if form:  # (a value frictionless cannot read is reported there too: once, by _one_per_cell)
                bad("value", *form)
                continue
            value = float(row.get("value") or "nan")
            if value != q.value:
                bad("value", f"value 为 {row.get('value')!r}，但引文 {quote!r} 说的是 {q.value:g}",
                    f"请把 value 设为 {q.value:g}，或改正引文")
            if row.get("when"):
                bad("when", "只有 date 与 time 行才有 when", "请清空 when 单元格")
        if row.get("qualifier") and row["qualifier"] != q.qualifier:
            bad("qualifier", f"qualifier 为 {row['qualifier']!r}，但引文说的是 {q.qualifier!r}",
                f"请把 qualifier 设为 {q.qualifier}")
        problems += [Problem(rel, msg, row=line, column="unit", hint=hint)
                     for msg, hint in _unit_problems(row, q)]
    return problems


FIXED_UNITS = {"rank": "名次", "percent": "%", "date": "日期", "time": "时刻"}


def _unit_problems(row: dict, q) -> list[tuple[str, str]]:
    """The unit is the counting word the source writes right after the number."""
    kind, unit = row.get("kind") or "", row.get("unit") or ""
    if kind in FIXED_UNITS:
        want = FIXED_UNITS[kind]
        return [] if unit == want else [(f"{kind} 行的单位是 {want!r}，不是 {unit!r}", f"请把 unit 设为 {want}")]
    if unit and not q.after.startswith(unit):
        return [(f"单位 {unit!r} 没有紧跟在引文的数字之后（{q.expression}{q.after[:4]}…）",
                 "请使用原文写在数字之后的量词")]
    return []


def _exclusion_problems() -> list[Problem]:
    path = paths.exclusions_path()
    rel = paths.relpath(path)
    problems = []
    for line, row in records.csv_rows(path):
        form = number_form_problem(row.get("occurrences") or "", integer=True)
        if form:  # (reported by the schema check too, if it cannot read it: once, by _one_per_cell)
            problems.append(Problem(rel, form[0], row=line, column="occurrences", hint=form[1]))
            continue
        want = int(row.get("occurrences") or 0)
        got = len(occurrences(row.get("phrase") or ""))
        if got != want:
            problems.append(Problem(rel, f"短语 {row.get('phrase')!r} 在原文中出现了 {got} 次，而不是 {want} 次",
                                    row=line, column="occurrences",
                                    hint="请逐字复制该短语，并数清它出现的次数"))
    return problems


def _coverage_problems() -> list[Problem]:
    phrases = [r["quote"] for _, r in records.metric_rows() if r.get("quote")]
    phrases += [r["phrase"] for _, r in records.exclusion_rows() if r.get("phrase")]
    return [Problem(paths.relpath(paths.metrics_path()),
                    f"原文中的数字 {n.text!r}（…{n.context}…）既不在任何指标的引文中，也未列为排除项",
                    hint="请为它添加一行指标，或在 data/numeral_exclusions.csv 中列出它并说明理由")
            for n in uncovered(phrases)]


def _schema_section_problems(pg: structure.Page) -> list[Problem]:
    """Every table's 'section' enum lists exactly the sections of data/source/layout.yaml."""
    found = []
    for res in meta.datapackage()["resources"]:
        for f in res.get("schema", {}).get("fields", []):
            if f["name"] == "section" and f.get("constraints", {}).get("enum") != pg.section_ids():
                found.append(Problem(paths.relpath(paths.datapackage_path()),
                                     f"{res['name']} 表结构中 section 的可选值与 data/source/layout.yaml "
                                     "的部分不一致", column="section",
                                     hint=f"请设为 {pg.section_ids()}"))
    return found


def _register_problems(pg: structure.Page) -> list[Problem]:
    """data/ambiguities.csv: each entry's quote is in the text of its part, and the metrics it
    names are facts of that part."""
    path = paths.ambiguities_path()
    rel = paths.relpath(path)
    metric_section = {r["id"]: r["section"] for _, r in records.metric_rows()}
    found = []
    for line, row in records.csv_rows(path):
        section = row.get("section") or ""
        if section not in pg.section_ids():
            continue  # the schema's enum reports it
        if squash(row.get("quote") or "") not in pg.section(section).text:
            found.append(Problem(rel, f"引文 {row.get('quote')!r} 不在部分 {section!r} 的文字中",
                                 row=line, column="quote", hint="请从该部分逐字复制短语"))
        for mid in (row.get("metrics") or "").split():
            if metric_section.get(mid) != section:
                reason = (f"提到了不存在的指标 {mid!r}" if mid not in metric_section
                          else f"指标 {mid!r} 属于部分 {metric_section[mid]!r}，而不是 {section!r}")
                found.append(Problem(rel, reason, row=line, column="metrics",
                                     hint="请写 data/metrics.csv 中同一部分的指标 id"))
    return found


CONFIG_KEYS = (("title",), ("author",), ("latex", "latex_documents", "targetname"),
               ("sphinx", "config", "latex_elements", "papersize"),
               ("sphinx", "config", "latex_elements", "sphinxsetup"))


def config_problems() -> list[Problem]:
    """The files the build reads by name — _config.yml, _toc.yml, book/figures.yaml — readable
    and complete, before anything uses them (layout.yaml is checked with the page structure)."""
    found: list[Problem] = []
    config, bad = _readable(lambda: records.yaml_file(paths.config_path()))
    found += bad
    if config is not None:
        for keys in CONFIG_KEYS:
            node = config
            for key in keys:
                node = node.get(key) if isinstance(node, dict) else None
            if not node:
                found.append(Problem("_config.yml", f"条目 {'.'.join(keys)!r} 缺失或为空",
                                     hint="书名、作者与 PDF 设置都从这里读取；请从 git 恢复该文件"))
    toc, bad = _readable(lambda: records.yaml_file(paths.toc_path()))
    found += bad
    if toc is not None:
        found += _toc_problems(toc)
    registry, bad = _readable(lambda: records.yaml_file(paths.figures_registry_path()))
    found += bad
    if registry is not None and not (isinstance(registry, list) and all(isinstance(i, dict) for i in registry)):
        found.append(Problem(paths.relpath(paths.figures_registry_path()),
                             "须是图条目的列表（- id: fig-…）", hint="请从 git 恢复该文件"))
    return found


def _toc_problems(toc) -> list[Problem]:
    if not isinstance(toc, dict) or "root" not in toc:
        return [Problem("_toc.yml", "缺少条目 'root'", hint="请写明首页，例如 root: book/index")]
    found, files = [], [("root", toc["root"])]

    def walk(entries, where):
        for i, e in enumerate(entries or []):
            if not isinstance(e, dict) or "file" not in e:
                found.append(Problem("_toc.yml", f"条目 {where}[{i}] 没有 'file'",
                                     hint="每个条目须写 file: 章节路径（不带 .md）"))
                continue
            files.append((f"{where}[{i}]", e["file"]))
            walk(e.get("sections"), f"{where}[{i}].sections")

    for i, part in enumerate(toc.get("parts") or []):
        walk(part.get("chapters"), f"parts[{i}].chapters")
    for where, name in files:
        if not (paths.REPO / f"{name}.md").is_file():
            found.append(Problem("_toc.yml", f"条目 {where}：file {name!r} 没有对应的章节（{name}.md 不存在）",
                                 hint="请改正路径（路径不带 .md 后缀），或添加该章节文件"))
    return found


def _chapter_problems() -> list[Problem]:
    """Every chapter of _toc.yml that is a notebook (chapters.chapters) reads as one."""
    from zzreview.site.chapters import chapters  # myst-nb: not in the replication package (no chapters)

    # first the bytes, for every page of the table of contents: execute.chapters reads each as
    # UTF-8 text, and a bad byte would end there in a traceback instead of in this report
    found = []
    for name in meta.toc_files():
        path = paths.REPO / f"{name}.md"
        bad = records.utf8_problem(path.read_bytes(), f"{name}.md")
        if bad:
            found.append(bad)
    if found:
        return found
    for chapter in chapters():
        error = _unreadable(chapter.path.read_text(encoding="utf-8"), str(chapter.path))
        if error:
            found.append(Problem(f"{chapter.docname}.md", f"无法作为 MyST 笔记本读取：{error}",
                                 hint="请检查文件开头 --- 之间的元数据和代码单元的围栏"))
    return found


@lru_cache(maxsize=64)
def _unreadable(text: str, path: str) -> str | None:
    """Why a chapter's text is no notebook, or None; once per text (the preview asks on every save)."""
    from zzreview.site.chapters import read_notebook  # (as above)

    try:
        read_notebook(text, Path(path))
    except Exception as exc:  # noqa: BLE001 - any reader error is this file's problem
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


ID_PATTERN = re.compile(r"^fig-[a-z0-9]+(-[a-z0-9]+)*$")
YEARS = {"2021", "2022"}  # the only numbers a title or caption may state: the period covered
# names such as “一室两队” and periods such as “一年来” hold numerals but state no quantity
NAME_CATEGORIES = ("name", "ordinal-name", "event", "road", "period")


def _without_names(text: str, names: list[str]) -> str:
    for name in names:
        text = text.replace(f"“{name}”", "“”")
    return text


def registry_problems() -> list[Problem]:
    """book/figures.yaml: ids, sections, forms (forms.FORMS), metrics, and no value stated in a
    title, caption or note, in any numeral form."""
    pg = structure.page()
    rel = paths.relpath(paths.figures_registry_path())
    metric_rows = {r["id"]: r for _, r in records.metric_rows()}
    sections = set(pg.section_ids())
    names = [r["phrase"] for _, r in records.exclusion_rows() if r["category"] in NAME_CATEGORIES]
    problems, seen = [], set()
    for item in records.figure_registry():
        fid = item.get("id", "")

        def bad(reason, column=None, hint=None):
            problems.append(Problem(rel, f"图 {fid!r}：{reason}", column=column, hint=hint))

        if not ID_PATTERN.match(fid):
            bad("id 须形如 fig-some-name", "id")
        if fid in seen:
            bad("id 用了两次", "id", "id 不可重复使用：请另起一个")
        seen.add(fid)
        if item.get("section") not in sections:
            bad(f"没有名为 {item.get('section')!r} 的部分", "section", "请使用 data/source/layout.yaml 中的部分 id")
        form = FORMS.get(item.get("form"))
        if form is None:
            bad(f"没有名为 {item.get('form')!r} 的图式", "form", f"请使用以下之一：{'、'.join(FORMS)}")
        elif form.needs_total != bool(item.get("total")):
            bad(f"{item['form']} 图{'须有' if form.needs_total else '不能有'} total", "total",
                "请补上 total（总数的指标 id）" if form.needs_total else "请删去 total")
        for key in ("title", "caption", "notes"):
            found = stated_numbers(_without_names(item.get(key) or "", names), YEARS)
            if not item.get(key) and key != "notes":
                bad(f"没有 {key}", key, f"请写上 {key}")
            elif found:
                bad(f"{key} 写出了数字（{'、'.join(found)}）；数字应来自数据（写在这里会过时）", key,
                    "请不用数字表述，或交给图表及其替代文字来呈现")
        ids = list(item.get("metrics") or []) + ([item["total"]] if item.get("total") else [])
        if not ids:
            bad("没有要绘制的指标", "metrics", "请在 metrics 中列出指标 id")
        for mid in ids:
            if mid not in metric_rows:
                bad(f"绘制了不存在的指标 {mid!r}", "metrics", "请使用 data/metrics.csv 中的 id")
            elif not metric_rows[mid].get("value"):
                bad(f"指标 {mid!r} 没有可绘制的数值", "metrics", "请选用有 value 的指标")
        units = {metric_rows[m]["unit"] for m in ids if m in metric_rows}
        if form is not None and form.one_unit and len(units) > 1:
            bad(f"{item['form']} 图只能有一种单位，这里有 {'、'.join(sorted(units))}", "metrics",
                "请只选同一单位的指标")
    return problems


def problems(frictionless: bool = True, chapters: bool = True) -> list[Problem]:
    """All problems with the book's inputs; an empty list means the build may run."""
    return _problems(frictionless, chapters)


def _problems(frictionless: bool, chapters: bool) -> list[Problem]:
    """The checks themselves. Checks that depend on a file stop at its first broken stage, so a message names the cause
    and not its consequences (a duplicate id is not also reported as a broken figure).
    A notebook's own check leaves out the chapters' Markdown (chapters=False): it runs without
    the book's tools."""
    found = config_problems()
    if found:
        return found
    found = _chapter_problems() if chapters else []
    if found:
        return found
    try:
        found = source.check_source()
    except DataError as exc:
        return exc.problems
    if found:
        return found
    for path in (paths.metrics_path(), paths.exclusions_path(), paths.ambiguities_path()):
        found += _readable(lambda: records.text(path))[1]
    if found:
        return found
    if frictionless:
        found += _package_problems()
    try:
        pg = structure.page()
    except (DataError, ValueError, KeyError, TypeError) as exc:
        return found + (exc.problems if isinstance(exc, DataError)
                        else [Problem(paths.relpath(paths.layout_path()), f"无法套用版面划分：{exc}",
                                      hint="请对照原文改正该文件，或从 git 恢复")])
    found += structure.coverage_problems(pg)
    found += _schema_section_problems(pg)
    found += _metric_row_problems(pg)
    found += _exclusion_problems()
    if found:
        return _one_per_cell(found)
    found += _register_problems(pg)  # it names metrics: only once they are sound
    found += _coverage_problems()
    found += registry_problems()
    found += _change_problems()
    return _one_per_cell(found)


def _change_problems() -> list[Problem]:
    """Each entry of the 更新记录 concerns the whole book or a page of it."""
    pages = set(meta.toc_files())
    return [Problem(paths.relpath(paths.changes_path()), f"没有这个页面：{row['page']}", row=line, column="page",
                    hint="写 _toc.yml 中的文件名（如 book/review/risk），或留空表示全书")
            for line, row in records.change_rows() if row["page"] and row["page"] not in pages]


def _one_per_cell(found: list[Problem]) -> list[Problem]:
    """The schema and the row checks can both catch one bad cell; report it once."""
    seen, kept = set(), []
    for p in found:
        key = (p.file, p.row, p.column) if p.row is not None and p.column else id(p)
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept


def check(frictionless: bool = True, chapters: bool = True) -> None:
    """Raise DataError naming every problem; chapters call this so stale or bad data never draws."""
    found = problems(frictionless=frictionless, chapters=chapters)
    if found:
        raise DataError(found)
