"""Validate everything the book reads, before any chapter executes.

Order matters: the source hash first (all else refers to it), then the files as files (present,
UTF-8, not empty), then the Frictionless Data Package (types, constraints, keys), then the
checks a schema cannot express: quotes found in the source, values equal to the parse of their
quote, every numeral accounted for, the page structure complete. Each problem names the file,
row and column and hints at the fix.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from . import meta, paths, source, structure
from .errors import DataError, Problem
from . import records
from .inventory import occurrences, stated_numbers, uncovered
from .source import squash
from .quantity import ParseError, parse

HINTS = {
    "type-error": "write a plain number such as 1012000 (no 万, no thousands separators)",
    "constraint-error": "see the field's constraints in data/datapackage.json",
    "unique-error": "ids are stable and never reused: give the row a new id",
    "primary-key": "ids are stable and never reused: give the row a new id",
    "missing-label": "restore the column header; the columns are listed in data/datapackage.json",
    "incorrect-label": "restore the column header; the columns are listed in data/datapackage.json",
    "blank-label": "restore the column header; the columns are listed in data/datapackage.json",
    "extra-label": "remove the column or declare it in data/datapackage.json",
    "extra-cell": "a row has more cells than there are columns: quote text that contains commas",
    "missing-cell": "a row has fewer cells than there are columns",
    "blank-row": "remove the empty line",
}


def _readable(read) -> tuple[object, list[Problem]]:
    """What a reader of records.py returns, or the problems that stopped it."""
    try:
        return read(), []
    except DataError as exc:
        return None, exc.problems


def _package_problems() -> list[Problem]:
    from frictionless import FrictionlessException, Package  # slow import: only when validating

    dp = paths.datapackage_path()
    rel_dp = paths.relpath(dp)
    descriptor, unreadable = _readable(lambda: records.json_file(dp))
    if unreadable:
        return unreadable
    problems: list[Problem] = []
    try:
        report = Package(descriptor, basepath=str(dp.parent)).validate()
    except FrictionlessException as exc:
        return [Problem(rel_dp, f"invalid data package: {exc.error.message}",
                        hint="compare with the Data Package spec or restore the file from git")]
    for task in report.tasks:
        rel = paths.relpath(dp.parent / task.place) if task.place else rel_dp
        unique_rows = {e.row_number for e in task.errors if e.type == "unique-error"}
        for err in task.errors:
            if err.type == "primary-key" and err.row_number in unique_rows:
                continue  # the same duplicate id, already reported for its column
            row = getattr(err, "row_number", None)
            column = getattr(err, "field_name", None) or getattr(err, "label", None)
            reason = f"{err.title}: {err.note}"
            if err.type in ("missing-label", "incorrect-label", "blank-label", "extra-label"):
                row = 1
                reason = f"{err.title}: the header is {getattr(err, 'label', '')!r}, expected {column!r}"
            cell = getattr(err, "cell", None)
            if cell not in (None, "") and row != 1:
                reason += f" (the cell holds {cell!r})"
            problems.append(Problem(rel, reason, row=row, column=column, hint=HINTS.get(err.type)))
    for err in report.errors:
        problems.append(Problem(rel_dp, f"{err.title}: {err.note}"))
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
            bad("section", f"unknown section {section!r}", "use a section id from data/source/layout.yaml")
            continue
        hits = len(occurrences(quote)) if quote else 0
        if quote and hits == 0:
            bad("quote", f"quote {quote!r} is not in the source",
                "copy the phrase verbatim from data/source/000_29b51da462fdfb9d.txt (spaces are ignored)")
            continue
        if hits > 1:
            bad("quote", f"quote {quote!r} occurs {hits} times in the source",
                "lengthen the phrase until it occurs once")
        # provenance is checked against the part the row names, not just the page
        if quote and section and squash(quote) not in pg.section(section).text:
            elsewhere = [s for s in sections if squash(quote) in pg.section(s).text]
            bad("section", f"quote {quote!r} is not in the text of section {section!r}"
                + (f" but in {', '.join(map(repr, elsewhere))}" if elsewhere else ""),
                "set the section to the part of the page the quote comes from")
        try:
            q = parse(quote)
        except ParseError as exc:
            bad("quote", str(exc), "the quote must contain the number it supports, and only that one")
            continue
        kind = row.get("kind") or ""
        if kind in ("date", "time"):
            if row.get("value"):
                bad("value", f"a {kind} row has no value; its date goes in 'when'", "empty the value cell")
            if (row.get("when") or "") != (q.when or ""):
                bad("when", f"when is {row.get('when')!r} but the quote says {q.when!r}",
                    f"set when to {q.when}")
        else:
            try:
                value = float(row.get("value") or "nan")
            except ValueError:
                continue  # the schema check reports the type error
            if value != q.value:
                bad("value", f"value is {row.get('value')!r} but the quote {quote!r} says {q.value:g}",
                    f"set value to {q.value:g}, or fix the quote")
            if row.get("when"):
                bad("when", "only date and time rows have a 'when'", "empty the when cell")
        if row.get("qualifier") and row["qualifier"] != q.qualifier:
            bad("qualifier", f"qualifier is {row['qualifier']!r} but the quote says {q.qualifier!r}",
                f"set qualifier to {q.qualifier}")
        problems += [Problem(rel, msg, row=line, column="unit", hint=hint)
                     for msg, hint in _unit_problems(row, q)]
    return problems


FIXED_UNITS = {"rank": "名次", "percent": "%", "date": "日期", "time": "时刻"}


def _unit_problems(row: dict, q) -> list[tuple[str, str]]:
    """The unit is the counting word the source writes right after the number."""
    kind, unit = row.get("kind") or "", row.get("unit") or ""
    if kind in FIXED_UNITS:
        want = FIXED_UNITS[kind]
        return [] if unit == want else [(f"a {kind} row has unit {want!r}, not {unit!r}", f"set unit to {want}")]
    if unit and not q.after.startswith(unit):
        return [(f"unit {unit!r} does not follow the number in the quote ({q.expression}{q.after[:4]}…)",
                 "use the counting word the source writes after the number")]
    return []


def _exclusion_problems() -> list[Problem]:
    path = paths.exclusions_path()
    rel = paths.relpath(path)
    problems = []
    for line, row in records.csv_rows(path):
        try:
            want = int(row.get("occurrences") or 0)
        except ValueError:
            continue  # the schema check reports it
        got = len(occurrences(row.get("phrase") or ""))
        if got != want:
            problems.append(Problem(rel, f"phrase {row.get('phrase')!r} occurs {got} times in the source, "
                                         f"not {want}", row=line, column="occurrences",
                                    hint="copy the phrase verbatim and count its occurrences"))
    return problems


def _coverage_problems() -> list[Problem]:
    phrases = [r["quote"] for _, r in records.metric_rows() if r.get("quote")]
    phrases += [r["phrase"] for _, r in records.exclusion_rows() if r.get("phrase")]
    return [Problem(paths.relpath(paths.metrics_path()),
                    f"the numeral {n.text!r} in the source (…{n.context}…) is in no metric quote "
                    "and no exclusion",
                    hint="add a metric row for it, or list it in data/numeral_exclusions.csv with a reason")
            for n in uncovered(phrases)]


def _schema_section_problems(pg: structure.Page) -> list[Problem]:
    """Every table's 'section' enum lists exactly the sections of data/source/layout.yaml."""
    found = []
    for res in meta.datapackage()["resources"]:
        for f in res.get("schema", {}).get("fields", []):
            if f["name"] == "section" and f.get("constraints", {}).get("enum") != pg.section_ids():
                found.append(Problem(paths.relpath(paths.datapackage_path()),
                                     f"the 'section' enum of the {res['name']} schema differs from the "
                                     "sections of data/source/layout.yaml", column="section",
                                     hint=f"set it to {pg.section_ids()}"))
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
            found.append(Problem(rel, f"quote {row.get('quote')!r} is not in the text of section {section!r}",
                                 row=line, column="quote", hint="copy the phrase verbatim from that part"))
        for mid in (row.get("metrics") or "").split():
            if metric_section.get(mid) != section:
                reason = (f"names unknown metric {mid!r}" if mid not in metric_section
                          else f"metric {mid!r} belongs to section {metric_section[mid]!r}, not {section!r}")
                found.append(Problem(rel, reason, row=line, column="metrics",
                                     hint="name metric ids of data/metrics.csv from the same part"))
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
                found.append(Problem("_config.yml", f"entry {'.'.join(keys)!r} is missing or empty",
                                     hint="the book's title, author and PDF settings are read from it; restore it from git"))
    toc, bad = _readable(lambda: records.yaml_file(paths.toc_path()))
    found += bad
    if toc is not None:
        found += _toc_problems(toc)
    registry, bad = _readable(lambda: records.yaml_file(paths.figures_registry_path()))
    found += bad
    if registry is not None and not (isinstance(registry, list) and all(isinstance(i, dict) for i in registry)):
        found.append(Problem(paths.relpath(paths.figures_registry_path()),
                             "must be a list of figure entries (- id: fig-…)", hint="restore it from git"))
    return found


def _toc_problems(toc) -> list[Problem]:
    if not isinstance(toc, dict) or "root" not in toc:
        return [Problem("_toc.yml", "entry 'root' is missing", hint="name the front page, e.g. root: book/index")]
    found, files = [], [("root", toc["root"])]

    def walk(entries, where):
        for i, e in enumerate(entries or []):
            if not isinstance(e, dict) or "file" not in e:
                found.append(Problem("_toc.yml", f"entry {where}[{i}] has no 'file'"))
                continue
            files.append((f"{where}[{i}]", e["file"]))
            walk(e.get("sections"), f"{where}[{i}].sections")

    for i, part in enumerate(toc.get("parts") or []):
        walk(part.get("chapters"), f"parts[{i}].chapters")
    for where, name in files:
        if not (paths.REPO / f"{name}.md").is_file():
            found.append(Problem("_toc.yml", f"entry {where}: file {name!r} names no chapter ({name}.md does not exist)",
                                 hint="correct the path (without .md) or add the chapter file"))
    return found


def _chapter_problems() -> list[Problem]:
    """Every chapter of _toc.yml that is a notebook (chapters.chapters) reads as one."""
    from .chapters import chapters

    found = []
    for chapter in chapters():
        error = _unreadable(chapter.path.read_text(encoding="utf-8"), str(chapter.path))
        if error:
            found.append(Problem(f"{chapter.docname}.md", f"cannot be read as a MyST notebook: {error}",
                                 hint="check its front matter (between the --- lines) and its code-cell fences"))
    return found


@lru_cache(maxsize=64)
def _unreadable(text: str, path: str) -> str | None:
    """Why a chapter's text is no notebook, or None; once per text (the preview asks on every save)."""
    from .chapters import read_notebook

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
    from .forms import FORMS

    pg = structure.page()
    rel = paths.relpath(paths.figures_registry_path())
    metric_rows = {r["id"]: r for _, r in records.metric_rows()}
    sections = set(pg.section_ids())
    names = [r["phrase"] for _, r in records.exclusion_rows() if r["category"] in NAME_CATEGORIES]
    problems, seen = [], set()
    for item in records.figure_registry():
        fid = item.get("id", "")

        def bad(reason, column=None, hint=None):
            problems.append(Problem(rel, f"figure {fid!r}: {reason}", column=column, hint=hint))

        if not ID_PATTERN.match(fid):
            bad("id must look like 'fig-some-name'", "id")
        if fid in seen:
            bad("id is used twice; ids are never reused", "id")
        seen.add(fid)
        if item.get("section") not in sections:
            bad(f"unknown section {item.get('section')!r}", "section")
        form = FORMS.get(item.get("form"))
        if form is None:
            bad(f"unknown form {item.get('form')!r}", "form", f"use one of {', '.join(FORMS)}")
        elif form.needs_total != bool(item.get("total")):
            bad(f"a {item['form']} {'needs' if form.needs_total else 'takes no'} total", "total")
        for key in ("title", "caption", "notes"):
            found = stated_numbers(_without_names(item.get(key) or "", names), YEARS)
            if not item.get(key) and key != "notes":
                bad(f"has no {key}", key)
            elif found:
                bad(f"{key} states a number ({'、'.join(found)}); figures come from the data (they would "
                    "go stale here)", key, "say it without a numeral, or let the chart and its alt text show it")
        ids = list(item.get("metrics") or []) + ([item["total"]] if item.get("total") else [])
        if not ids:
            bad("plots no metric", "metrics")
        for mid in ids:
            if mid not in metric_rows:
                bad(f"plots unknown metric {mid!r}", "metrics", "use an id from data/metrics.csv")
            elif not metric_rows[mid].get("value"):
                bad(f"metric {mid!r} has no value to draw", "metrics")
        units = {metric_rows[m]["unit"] for m in ids if m in metric_rows}
        if form is not None and form.one_unit and len(units) > 1:
            bad(f"a {item['form']} needs one unit, got {sorted(units)}", "metrics")
    return problems


def problems(frictionless: bool = True, chapters: bool = True, remember_in: Path | None = None) -> list[Problem]:
    """All problems with the book's inputs; an empty list means the build may run. With a folder
    to remember in: inputs this check found sound before, byte for byte (paths.input_files, the
    checking code among them), are not checked again (~1–2 s, most of it frictionless)."""
    if remember_in is None:
        return _problems(frictionless, chapters)
    memory = Path(remember_in) / f"validated{'-frictionless' if frictionless else ''}{'-chapters' if chapters else ''}"
    key = paths.inputs_digest()
    try:
        if memory.read_text(encoding="utf-8") == key:
            return []
    except OSError:
        pass
    found = _problems(frictionless, chapters)
    # only a pass is remembered (a problem is reported every time), and only for the bytes it
    # checked: a file saved while the checks ran (the preview) leaves nothing remembered
    if not found and paths.inputs_digest() == key:
        memory.parent.mkdir(parents=True, exist_ok=True)
        tmp = memory.with_name(f"{memory.name}.{os.getpid()}.tmp")  # notebooks run side by side
        tmp.write_text(key, encoding="utf-8")
        os.replace(tmp, memory)
    return found


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
                        else [Problem(paths.relpath(paths.layout_path()), f"cannot apply the layout: {exc}")])
    found += structure.coverage_problems(pg)
    found += _schema_section_problems(pg)
    found += _metric_row_problems(pg)
    found += _exclusion_problems()
    if found:
        return _one_per_cell(found)
    found += _register_problems(pg)  # it names metrics: only once they are sound
    found += _coverage_problems()
    found += registry_problems()
    return _one_per_cell(found)


def _one_per_cell(found: list[Problem]) -> list[Problem]:
    """The schema and the row checks can both catch one bad cell; report it once."""
    seen, kept = set(), []
    for p in found:
        key = (p.file, p.row, p.column) if p.row is not None and p.column else id(p)
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept


def check(frictionless: bool = True, chapters: bool = True, remember_in: Path | None = None) -> None:
    """Raise DataError naming every problem; chapters call this so stale or bad data never draws."""
    found = problems(frictionless=frictionless, chapters=chapters, remember_in=remember_in)
    if found:
        raise DataError(found)
