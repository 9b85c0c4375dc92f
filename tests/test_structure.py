"""The restored page: every raw line used exactly once, headlines de-duplicated, bodies repaired."""
import re
from collections import Counter

import pytest
import yaml

from conftest import REPO
from zzreview.newspaper import structure

RAW = (REPO / "data" / "source" / "000_29b51da462fdfb9d.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page():
    return structure.build_page()


def squash(text):
    return re.sub(r"\s+", "", text)


def test_every_raw_line_used_exactly_once(page):
    assert structure.coverage_problems(page) == []
    non_blank = {n for n, line in enumerate(RAW.split("\n"), 1) if line.strip()}
    assert {frag.line for frag in page.fragments.values()} == non_blank


def test_no_character_dropped_or_duplicated(page):
    """Independent of the bookkeeping: the restored page has the same characters as the raw
    page, once doubled headlines are counted twice."""
    layout = yaml.safe_load((REPO / "data" / "source" / "layout.yaml").read_text(encoding="utf-8"))
    doubled_titles = set()
    for art in layout["articles"]:
        for key in ("kicker", "headline"):
            if (art.get(key) or {}).get("doubled"):
                doubled_titles.add((art["id"], key))
        for sec in art["sections"]:
            if (sec.get("kicker") or {}).get("doubled"):
                doubled_titles.add((sec["id"], "kicker"))
    restored = Counter()
    for art in page.articles:
        for key in ("kicker", "headline", "subtitle", "byline"):
            text = squash(getattr(art, key) or "")
            restored.update(text * (2 if (art.id, key) in doubled_titles else 1))
        for sec in art.sections:
            restored.update(squash(sec.kicker or "") * (2 if (sec.id, "kicker") in doubled_titles else 1))
            restored.update(squash(sec.heading or ""))
            for para in sec.paragraphs:
                restored.update(squash(para))
    for label in page.page_labels:
        restored.update(squash(label))
    assert restored == Counter(squash(RAW))


def test_articles_in_reading_order_with_their_headlines(page):
    # Read off the printed page independently of the layout file.
    assert [a.title + (a.subtitle or "") for a in page.articles] == [
        "践行初心勇担当 筑牢平安护发展——2021年漳州市公安工作回顾",
        "漳州交警：创建管理新模式 促进服务效能化",
        "漳州交警用坚守迎新年",
        "老人腿脚不便 执勤人员“背”走",
        "迷路小孩寻家人 暖心警民来救助",
        "警民同台演小品 反诈宣传入人心",
        "长泰区农场中学：争当“文明交通之星” 展现青春榜样风貌",
    ]
    assert [a.byline for a in page.articles] == [
        "⊙章公宣", "⊙罗晓晖 庄文进", "⊙罗晓晖 文/图", "翟嘉意 王颖 摄影报道",
        "本报讯（张建婷 姚珠敏）", "本报讯（徐雅丽 杨晓琼 文/图）", "⊙罗晓晖"]
    assert page.page_labels == ["我为群众办实事", "特稿"]


def test_split_article_is_rejoined(page):
    newyear = page.article("newyear")
    assert [s.title for s in newyear.sections] == [
        "", "平和交警：扶危助困 徒手推车清障保畅通", "诏安交警：拒绝酒驾 从“涉酒”场所抓起",
        "南靖交警：坚守岗位 深入重点路段保畅通"]
    assert newyear.sections[0].paragraphs[0].startswith("2022踏着新年的钟声来了")
    assert newyear.sections[1].paragraphs[-1].endswith("连连道谢。")  # glued kicker cut off


def test_main_review_has_lead_and_four_themed_parts(page):
    assert [s.heading for s in page.article("review").sections] == [
        None, "淬利剑 锻造过硬铁军", "防风险 维护社会稳定", "创平安 提升打击效能", "强基础 激发改革动力"]


def test_titles_are_not_doubled(page):
    titles = [t for a in page.articles for t in (a.kicker, a.headline, a.subtitle)]
    titles += [t for a in page.articles for s in a.sections for t in (s.kicker, s.heading)]
    for title in filter(None, titles):
        assert not re.search(r"(\S{2,})\1", title), title


def test_bodies_have_no_ocr_spaces_and_end_sentences(page):
    for art in page.articles:
        for sec in art.sections:
            for para in sec.paragraphs:
                assert " " not in para.replace("买卖银行卡风险大 莫做犯罪帮凶", ""), para[:40]
                assert re.search(r"[。！？”）]$", para), f"{sec.id}: paragraph ends mid-sentence: …{para[-15:]}"
                assert "⊙" not in para and "本报讯" not in para, "a byline left in the body"


def test_undouble():
    assert structure.undouble("警民同台警民同台演小品演小品") == "警民同台演小品"
    assert structure.undouble("平和交警平和交警") == "平和交警"
    with pytest.raises(ValueError):
        structure.undouble("扶危助困")


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace('paragraphs: ["17-21", "23-33", "35-54"]', 'paragraphs: ["17-21", "35-54"]'),
     "原文第 23 行没有被使用"),
    (lambda t: t.replace('paragraphs: ["58-73", "74-89"]', 'paragraphs: ["58-73", "73-89"]'),
     "原文第 73 行被使用了 2 次"),
])
def test_layout_mistakes_are_caught(data_copy, edit, expected):
    path = data_copy / "source" / "layout.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    problems = structure.coverage_problems(structure.build_page())
    assert any(expected in str(p) for p in problems), problems
