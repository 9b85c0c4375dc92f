"""The book's Sphinx extension on a small source folder, through Sphinx's own test application:
its hooks in seconds, without building the book."""
import io
import os

import pytest
from sphinx.errors import ExtensionError
from sphinx.testing.util import SphinxTestApp

from zzreview.site import sphinxext

CONF = 'extensions = ["myst_nb", "zzreview.site.sphinxext"]\nlanguage = "zh_CN"\nnb_execution_mode = "off"\n'


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF, encoding="utf-8")
    (src / "index.md").write_text("# 一页\n\n正文。\n", encoding="utf-8")
    return src


@pytest.fixture(autouse=True)
def no_leftovers(monkeypatch):
    """What the extension sets for the kernels it would start stays in this test."""
    for name in ("ZZREVIEW_DATA_CHECKED", "ZZREVIEW_GENERATED_DIR", "SOURCE_DATE_EPOCH", "FORCE_SOURCE_DATE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
        monkeypatch.delenv(name)


def app(source, tmp_path) -> SphinxTestApp:
    return SphinxTestApp("html", srcdir=source, builddir=tmp_path / "build", status=io.StringIO(),
                         warning=io.StringIO())


def test_bad_input_stops_sphinx_before_it_reads_anything(source, tmp_path, data_copy):
    metrics = data_copy / "metrics.csv"
    metrics.write_text(metrics.read_text(encoding="utf-8").replace(",890000,", ",８９００００,", 1), encoding="utf-8")
    with pytest.raises(ExtensionError, match="输入数据有 1 处问题"):
        app(source, tmp_path)
    # the one line, kept beside the output for the build script, naming file, row and column
    [line] = (tmp_path / "build" / sphinxext.PROBLEMS).read_text(encoding="utf-8").strip().splitlines()
    assert "metrics.csv，第 21 行，value 列：" in line and "（提示：" in line, line
    assert "ZZREVIEW_DATA_CHECKED" not in os.environ  # the chapters' kernels would check it again
    assert not (tmp_path / "build" / "html").exists() or not any((tmp_path / "build" / "html").iterdir())


def test_sound_input_lets_the_build_on_and_says_so_to_the_kernels(source, tmp_path, data_copy):
    test_app = app(source, tmp_path)
    try:
        assert os.environ["ZZREVIEW_DATA_CHECKED"] == "1"
        assert os.environ["ZZREVIEW_GENERATED_DIR"] == str(tmp_path / "build" / "generated")
        assert not (tmp_path / "build" / sphinxext.PROBLEMS).exists()
    finally:
        test_app.cleanup()
