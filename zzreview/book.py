"""What chapters call: one line each for the source passage, the metrics table, a figure, and
derived figures with their inputs and caveats. Outputs are Markdown, which the book renders
as MyST (tables and figures then work in HTML and PDF alike) and Jupyter shows as Markdown."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from . import charts, data, figures, structure, validate
from .quantity import QUALIFIERS, RULES, bounds_text

QUALIFIER_ZH = {"exact": "确数", "more_than": "下限（余/多）", "approx": "约数（约/许）", "nearly": "上限（近）"}


class Markdown:
    """A Markdown output; the book parses it as MyST."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def setup() -> None:
    """First cell of every chapter: style the charts and refuse to draw from invalid data."""
    charts.setup()
    if os.environ.get("ZZREVIEW_DATA_CHECKED") != "1":  # the build checked it all just before
        validate.check(frictionless=False)  # an analyst's rerun after editing the data


def esc(text: str) -> str:
    """Escape characters Markdown would read as markup."""
    return re.sub(r"([\\`*_\[\]{}<>#|$~^])", r"\\\1", text)


def when_text(when: str) -> str:
    m = re.match(r"^(?:(\d{4})-|--)?(?:(\d{2})-(\d{2}))?(?:T(\d{2})(?::(\d{2}))?)?$", when or "")
    if not m:
        return when
    y, mo, d, h, mi = m.groups()
    text = (f"{y}年" if y else "") + (f"{int(mo)}月{int(d)}日" if mo else "")
    if h:
        text += f"{int(h)}时" + (f"{int(mi)}分" if mi else "")
    return text + ("（年份原文未写）" if mo and not y else "")


def value_cell(row: dict) -> str:
    if row["kind"] in ("date", "time"):
        return when_text(row["when"]) + ("（约）" if row["qualifier"] == "approx" else "")
    if row["kind"] == "rank":
        return f"第{int(row['value'])}名"
    return f"{bounds_text(row['value'], row['qualifier'])} {row['unit']}"


def passage(section_id: str) -> Markdown:
    """The restored source passage a chapter covers, as a quotation with its byline."""
    pg = structure.page()
    sec = pg.section(section_id)
    art = pg.article(sec.article_id)
    lines = []
    if sec.title:
        lines.append(f"**{esc(sec.title)}**")
    lines += [esc(p) for p in sec.paragraphs]
    quote = "\n>\n".join(f"> {line}" for line in lines)
    title = esc(art.title + (art.subtitle or ""))
    cite = f"——原文，载《{title}》" + (f"，署名 {esc(art.byline)}" if art.byline else "")
    return Markdown(f"{quote}\n>\n> {cite}\n")


def article_heading(article_id: str) -> Markdown:
    """The article's printed title, byline and how the layout scattered it."""
    art = structure.page().article(article_id)
    title = f"**{esc(art.title)}**" + (f"{esc(art.subtitle)}" if art.subtitle else "")
    byline = f"署名：{esc(art.byline)}。" if art.byline else "原文无署名。"
    return Markdown(f"原标题：{title}\n\n{byline}版面说明：{esc(art.note)}\n")


def metrics_table(section_id: str) -> Markdown:
    """Every metric of a section: id, label, value with its qualifier, and the source quote."""
    df = data.metrics()
    rows = df[df["section"] == section_id]
    if rows.empty:
        return Markdown("本节原文没有可记录的定量事实。\n")
    out = ["| 编号 | 指标 | 数值 | 限定 | 原文 |", "|---|---|---|---|---|"]
    for mid in rows.index:
        r = data.metric(mid)
        out.append(f"| `{r['id']}` | {esc(r['label'])} | {esc(value_cell(r))} | "
                   f"{QUALIFIER_ZH[r['qualifier']]} | 「{esc(r['quote'])}」 |")
    return Markdown(_container("metrics-table", "\n".join(out)))


def _container(css_class: str, body: str) -> str:
    """Wrap Markdown in a docutils container so the book's CSS can style it."""
    return f"````{{container}} {css_class}\n{body}\n````\n"


def figure(fig_id: str):
    """A numbered figure from the registry, drawn from the current data."""
    return figures.show(fig_id)


# --- Derived figures: interval arithmetic, so a lower bound stays a bound -------------------

@dataclass
class Interval:
    lo: float  # may be 0
    hi: float  # may be math.inf

    @classmethod
    def of(cls, row: dict) -> "Interval":
        v = row["value"]
        return {"exact": cls(v, v), "more_than": cls(v, math.inf),
                "nearly": cls(0.0, v), "approx": cls(v, v)}[row["qualifier"]]


@dataclass
class Derived:
    label: str
    formula: str
    inputs: list[dict]
    result: Interval
    point: float  # the figure computed from the stated numbers
    percent: bool = False
    caveats: list[str] = field(default_factory=list)
    unit: str = ""

    def _fmt(self, x: float) -> str:
        if self.percent:
            return f"{x:.1%}"
        text = f"{x:,.0f}" if float(x).is_integer() or x >= 100 else f"{x:,.1f}"
        return f"{text} {self.unit}".strip()

    def result_text(self) -> str:
        lo, hi = self.result.lo, self.result.hi
        if lo == hi:
            return self._fmt(lo)
        if math.isinf(hi) and lo > 0:
            return f"≥ {self._fmt(lo)}"
        if lo == 0 and not math.isinf(hi):
            return f"≤ {self._fmt(hi)}"
        return f"约 {self._fmt(self.point)}（两数都是界限，真实值可大可小）"


def _bound_caveats(rows: list[dict]) -> list[str]:
    notes = []
    for r in rows:
        if r["qualifier"] == "more_than":
            notes.append(f"“{r['label']}”原文带“余/多”，是下限")
        elif r["qualifier"] in ("approx", "nearly"):
            notes.append(f"“{r['label']}”是{QUALIFIER_ZH[r['qualifier']]}")
    return notes


def ratio(numerator: str, denominator: str, label: str, percent: bool = False,
          caveat: str | None = None) -> Derived:
    """numerator / denominator, with the bound the qualifiers allow."""
    a, b = data.metric(numerator), data.metric(denominator)
    ia, ib = Interval.of(a), Interval.of(b)
    lo = ia.lo / ib.hi if not math.isinf(ib.hi) else 0.0
    hi = ia.hi / ib.lo if ib.lo else math.inf
    caveats = _bound_caveats([a, b])
    if a["unit"] != b["unit"]:
        caveats.append(f"单位不同（{a['unit']} ÷ {b['unit']}），结果是“每{b['unit']}多少{a['unit']}”")
    if caveat:
        caveats.append(caveat)
    unit = "" if percent or a["unit"] == b["unit"] else f"{a['unit']}/{b['unit']}"
    return Derived(label, f"{a['label']} ÷ {b['label']}", [a, b], Interval(lo, hi),
                   a["value"] / b["value"], percent, caveats, unit)


def total(ids: list[str], label: str, caveat: str | None = None) -> Derived:
    """Sum of figures that share a unit."""
    rows = [data.metric(i) for i in ids]
    units = {r["unit"] for r in rows}
    if len(units) != 1:
        raise ValueError(f"cannot add figures of different units: {sorted(units)}")
    ivs = [Interval.of(r) for r in rows]
    caveats = _bound_caveats(rows) + ([caveat] if caveat else [])
    return Derived(label, " + ".join(r["label"] for r in rows), rows,
                   Interval(sum(i.lo for i in ivs), sum(i.hi for i in ivs)),
                   sum(r["value"] for r in rows), False, caveats, rows[0]["unit"])


def difference(whole: str, parts: list[str], label: str, caveat: str | None = None) -> Derived:
    """whole − sum(parts), e.g. the part of a total the source leaves unclassified."""
    w, rows = data.metric(whole), [data.metric(p) for p in parts]
    if w["qualifier"] != "exact" or any(r["qualifier"] != "exact" for r in rows):
        raise ValueError("a difference needs exact figures")
    value = w["value"] - sum(r["value"] for r in rows)
    caveats = [caveat] if caveat else []
    return Derived(label, f"{w['label']} − （" + " + ".join(r["label"] for r in rows) + "）",
                   [w] + rows, Interval(value, value), value, False, caveats, w["unit"])


def derived_table(items: list[Derived]) -> Markdown:
    """Derived figures with their formula, inputs (as quoted) and caveats."""
    out = ["| 派生指标 | 计算 | 输入（原文） | 结果 | 注意 |", "|---|---|---|---|---|"]
    for d in items:
        inputs = "；".join(f"{esc(value_cell(r))}（`{r['id']}`）" for r in d.inputs)
        caveats = "；".join(esc(c) for c in d.caveats) or "—"
        out.append(f"| {esc(d.label)} | {esc(d.formula)} | {inputs} | **{esc(d.result_text())}** | {caveats} |")
    return Markdown(_container("derived-table", "\n".join(out)))


# --- Appendix helpers ------------------------------------------------------------------------

def data_dictionary() -> Markdown:
    """Every table of the data package with its fields, generated from datapackage.json."""
    out = []
    for res in data.datapackage()["resources"]:
        out.append(f"### `{res['path']}`：{esc(res['title'])}\n\n{esc(res.get('description', ''))}\n")
        if "schema" not in res:
            continue
        out += ["| 字段 | 名称 | 类型 | 约束 | 说明 |", "|---|---|---|---|---|"]
        for f in res["schema"]["fields"]:
            cons = f.get("constraints", {})
            shown = []
            for key, val in cons.items():
                if key == "enum":
                    val = "、".join(f"`{v}`" for v in val)
                elif key == "pattern":
                    val = f"`{val}`"
                shown.append(f"{key}: {val}")
            out.append(f"| `{f['name']}` | {esc(f.get('title', ''))} | {f['type']} | "
                       f"{esc('；'.join(shown)) if shown else '—'} | {esc(f.get('description', ''))} |")
        key = res["schema"].get("primaryKey")
        out.append(f"\n主键：{'、'.join(f'`{k}`' for k in key)}\n" if key else "")
    return Markdown("\n".join(out))


def parser_rules() -> Markdown:
    out = ["| 顺序 | 类型 | 规则 |", "|---|---|---|"]
    out += [f"| {i} | `{kind}` | {esc(text)} |" for i, (kind, text, _) in enumerate(RULES, 1)]
    out += ["", "| 限定 | 含义 |", "|---|---|"]
    out += [f"| `{k}` | {esc(v)} |" for k, v in QUALIFIERS.items()]
    return Markdown("\n".join(out) + "\n")


def exclusions_table() -> Markdown:
    df = data.exclusions()
    out = ["| 原文短语 | 出现次数 | 类别 | 原因 |", "|---|---|---|---|"]
    out += [f"| 「{esc(r.phrase)}」 | {r.occurrences} | `{r.category}` | {esc(r.reason)} |"
            for r in df.itertuples()]
    return Markdown("\n".join(out) + "\n")


def restored_source() -> Markdown:
    """The whole page in reading order, as restored by the structure step."""
    pg = structure.page()
    out = []
    for art in pg.articles:
        out.append(f"## {esc(art.title)}" + (f"　{esc(art.subtitle)}" if art.subtitle else ""))
        out.append(f"*{esc(art.note)}*")
        for sec in art.sections:
            if sec.title:
                out.append(f"**{esc(sec.title)}**")
            out += [esc(p) for p in sec.paragraphs]
        if art.byline:
            out.append(f"署名：{esc(art.byline)}")
    out.append("## 版面栏目标签")
    out.append("版面上另有以下栏目标签，原文未表明其属于哪篇文章：" +
               "、".join(f"「{esc(x)}」" for x in pg.page_labels) + "。")
    return Markdown("\n\n".join(out) + "\n")


def counts() -> dict:
    """Sizes quoted on the front page, computed rather than typed."""
    df = data.metrics()
    pg = structure.page()
    return {"metrics": len(df), "articles": len(pg.articles), "sections": len(pg.section_ids()),
            "figures": len(figures.registry()), "exclusions": len(data.exclusions()),
            "lower_bounds": int((df["qualifier"] == "more_than").sum())}


def source_statement() -> Markdown:
    """What the source is, from the data package; unknowns are said to be unknown."""
    dp = data.datapackage()
    src, x = dp["sources"][0], dp["x_source"]
    res = next(r for r in dp["resources"] if r["name"] == "source-page")
    unknown = "不详（原文中没有）"
    rows = [
        ("报纸名称", unknown if x["newspaper"] == "unknown" else x["newspaper"]),
        ("版次", unknown if x["page"] == "unknown" else x["page"]),
        ("出版日期", (unknown if x["published"] == "unknown" else x["published"])
         + f"；不早于 {x['published_not_before']}，依据：{x['evidence_for_date']}"),
        ("收到的文本", f"`{x['received_as']}`，UTF-8 纯文本"),
        ("sha256", f"`{res['hash'].split(':', 1)[1]}`"),
        ("说明", src["description"]),
    ]
    out = ["| 项目 | 内容 |", "|---|---|"] + [f"| {k} | {esc(v) if k not in ('收到的文本', 'sha256') else v} |"
                                              for k, v in rows]
    return Markdown("\n".join(out) + "\n")


def pipeline_summary() -> Markdown:
    c = counts()
    return Markdown(
        f"原文复原为 {c['articles']} 篇文章、{c['sections']} 个部分；整理出 {c['metrics']} 个定量事实"
        f"（其中 {c['lower_bounds']} 个是“余/多”给出的下限），{c['exclusions']} 处数字列为非定量并说明原因；"
        f"全书 {c['figures']} 幅图。以上数目都由程序从数据计算，不是手写的。\n")
