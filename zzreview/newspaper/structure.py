"""Source text → logical structure of the page.

The raw page is OCR-like: articles are out of order, headlines follow their bodies, one article
is split across the page, columns break mid-sentence, some headlines are printed twice. The
hand-made mapping data/source/layout.yaml says which raw lines form which block; this module
applies it, repairs the text (joins lines, drops OCR spaces, de-duplicates doubled headlines)
and records where every raw fragment went, so tests can prove nothing is lost or used twice.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from zzreview import paths, records
from zzreview.errors import DataError, Problem
from zzreview.newspaper import source
from zzreview.records import yaml_file


@dataclass(frozen=True)
class Fragment:
    ref: str  # "17" for a whole line, "143.1" / "143.2" for the parts of a cut line
    line: int
    text: str


@dataclass
class Section:
    id: str
    article_id: str
    kicker: str | None
    heading: str | None
    paragraphs: list[str]

    @property
    def printed_titles(self) -> list[str]:
        """The section's kicker and heading as printed, each on its own (no separator added)."""
        return [p for p in (self.kicker, self.heading) if p]

    headings: list[str] = field(default_factory=list)  # an article's opening part: its headlines

    @property
    def text(self) -> str:
        """Everything printed in this part, without white space: quotes are matched against it.
        An article's opening part (same id as the article) also holds its printed headlines."""
        return source.squash("".join(self.headings + self.printed_titles + self.paragraphs))

    def place_of(self, quote: str) -> str:
        """Where a quote stands in this part, as a reader finds it: "第 N 段", or the printed
        title or headline that holds it (quotes were checked to be in the part)."""
        phrase = source.squash(quote)
        for i, paragraph in enumerate(self.paragraphs, 1):
            if phrase in source.squash(paragraph):
                return f"第 {i} 段"
        if phrase in source.squash("".join(self.headings + self.printed_titles)):
            return "标题"
        return "跨段"

    @property
    def title(self) -> str:
        """Heading as a reader names the section ("平和交警：扶危助困 …"); the "：" is the book's."""
        parts = [p for p in (self.kicker, self.heading) if p]
        return "：".join(p.rstrip("：") for p in parts)


@dataclass
class Article:
    id: str
    kicker: str | None
    headline: str
    subtitle: str | None
    byline: str | None
    note: str
    sections: list[Section] = field(default_factory=list)

    @property
    def title(self) -> str:
        parts = [p for p in (self.kicker, self.headline) if p]
        return "".join(parts)


@dataclass
class Page:
    articles: list[Article]
    page_labels: list[str]
    usage: dict[str, list[str]]  # fragment ref → places it was used ("review-forge/body")
    fragments: dict[str, Fragment]

    def section(self, section_id: str) -> Section:
        for art in self.articles:
            for sec in art.sections:
                if sec.id == section_id:
                    return sec
        raise KeyError(section_id)

    def article(self, article_id: str) -> Article:
        for art in self.articles:
            if art.id == article_id:
                return art
        raise KeyError(article_id)

    def section_ids(self) -> list[str]:
        return [sec.id for art in self.articles for sec in art.sections]


def undouble(text: str) -> str:
    """'警民同台警民同台演小品演小品' → '警民同台演小品': every segment must be printed twice."""
    out, i = [], 0
    while i < len(text):
        if text[i].isspace():
            out.append(text[i])
            i += 1
            continue
        for k in range((len(text) - i) // 2, 0, -1):
            if text[i:i + k] == text[i + k:i + 2 * k]:
                out.append(text[i:i + k])
                i += 2 * k
                break
        else:
            raise ValueError(f"不是重复印刷的标题：{text!r}（在 {text[i:]!r} 处）")
    return "".join(out)


def _fragments(lines: list[str], cuts: dict[int, str], layout_file: str) -> dict[str, Fragment]:
    frags: dict[str, Fragment] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if number in cuts:
            marker = cuts[number]
            at = line.find(marker)
            if at <= 0 or not line[:at].strip():
                raise DataError([Problem(layout_file, f"切分标记 {marker!r} 不在原文第 {number} 行之内",
                                         column="cuts", hint=f"原文第 {number} 行是 {line!r}")])
            frags[f"{number}.1"] = Fragment(f"{number}.1", number, line[:at])
            frags[f"{number}.2"] = Fragment(f"{number}.2", number, line[at:])
        else:
            frags[str(number)] = Fragment(str(number), number, line)
    return frags


_REF = r"\d+(?:\.[12])?"
_SPEC = re.compile(rf"^({_REF})(?:-({_REF}))?$")


def _expand(spec: str, frags: dict[str, Fragment], layout_file: str) -> list[Fragment]:
    """'35-54' → the fragments of lines 35..54 in order (blank lines have none)."""
    m = _SPEC.match(str(spec).strip())
    if not m:
        raise DataError([Problem(layout_file, f"行号引用 {spec!r} 写法有误",
                                 hint="请写成 17、17-21、143.1 或 256.2-259 这样的形式")])
    start, end = m.group(1), m.group(2) or m.group(1)
    keys = list(frags)
    try:
        i, j = keys.index(start), keys.index(end)
    except ValueError:
        raise DataError([Problem(layout_file, f"行号引用 {spec!r} 指向空行或不存在的行，"
                                 "或是被切分的行却没有写分段号",
                                 hint="被切分的行请写 143.1 或 143.2")]) from None
    if j < i:
        raise DataError([Problem(layout_file, f"行号范围 {spec!r} 起止颠倒",
                                 hint="请把较小的行号写在前面")])
    return [frags[k] for k in keys[i:j + 1]]


def _title_text(parts: list[str], block: dict) -> str:
    if block.get("doubled"):
        parts = [undouble(p.strip()) for p in parts]
    text = block.get("join", "").join(p.strip() for p in parts)
    if block.get("squeeze"):
        return source.squash(text)
    return re.sub(r"\s+", " ", text).strip()


def _body_text(parts: list[str], keep_spaces: list[str]) -> str:
    text = source.squash("".join(parts))
    for phrase in keep_spaces:  # put back the few spaces that are real
        text = text.replace(source.squash(phrase), phrase)
    return text


def load_layout() -> dict:

    return yaml_file(paths.layout_path())


def build_page() -> Page:
    layout = load_layout()
    layout_file = paths.relpath(paths.layout_path())
    lines = source.raw_lines()
    cuts = {int(k): v for k, v in (layout.get("cuts") or {}).items()}
    frags = _fragments(lines, cuts, layout_file)
    keep_spaces = layout.get("keep_spaces") or []
    usage: dict[str, list[str]] = {ref: [] for ref in frags}

    def take(spec: str, place: str) -> list[str]:
        got = _expand(spec, frags, layout_file)
        for frag in got:
            usage[frag.ref].append(place)
        return [f.text for f in got]

    def title(block: dict | None, place: str) -> str | None:
        if not block:
            return None
        return _title_text(take(block["lines"], place), block)

    articles = []
    for art in layout["articles"]:
        sections = []
        for sec in art["sections"]:
            paras = [_body_text(take(spec, f"{sec['id']}/body"), keep_spaces)
                     for spec in sec["paragraphs"]]
            sections.append(Section(
                id=sec["id"], article_id=art["id"],
                kicker=title(sec.get("kicker"), f"{sec['id']}/kicker"),
                heading=title(sec.get("heading"), f"{sec['id']}/heading"),
                paragraphs=paras))
        kicker, headline, subtitle = (title(art.get(k), f"{art['id']}/{k}") for k in ("kicker", "headline", "subtitle"))
        for sec in sections:
            if sec.id == art["id"]:
                sec.headings = [x for x in (kicker, headline, subtitle) if x]
        articles.append(Article(
            id=art["id"], kicker=kicker, headline=headline, subtitle=subtitle,
            byline=title(art.get("byline"), f"{art['id']}/byline"),
            note=art.get("note", ""),
            sections=sections))
    labels = [title(lab, "page/label") for lab in layout.get("page_labels") or []]
    return Page(articles=articles, page_labels=labels, usage=usage, fragments=frags)


@lru_cache(maxsize=1)
def _cached_page(key: tuple) -> Page:
    return build_page()


def page() -> Page:
    """The structured page (cached while the source and layout files are unchanged)."""
    files = (paths.layout_path(), source.source_path())
    for path in files:
        records.note_file(path)  # the page may be served from the cache above the readers
    return _cached_page(tuple((str(p), p.stat().st_mtime_ns) for p in files))


def coverage_problems(pg: Page) -> list[Problem]:
    """Every non-blank raw fragment used exactly once; no id used twice."""
    layout_file = paths.relpath(paths.layout_path())
    problems = []
    for ref, places in pg.usage.items():
        if len(places) != 1:
            what = "没有被使用" if not places else f"被使用了 {len(places)} 次（{'、'.join(places)}）"
            problems.append(Problem(layout_file, f"原文第 {ref} 行{what}",
                                    hint=f"该行内容为 {pg.fragments[ref].text.strip()!r}；每行须恰好用一次"))
    ids = Counter(pg.section_ids())
    problems += [Problem(layout_file, f"部分 id {sid!r} 用了 {n} 次", hint="每个部分的 id 须唯一")
                 for sid, n in ids.items() if n > 1]
    return problems
