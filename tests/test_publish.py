"""Publishing, on its own: a published book is never written to afterwards (the next build
rewrites its staging folder in place), and a publish stopped before its swap changes nothing;
the downloads' ZIPs are the same bytes from the same members."""

from zzreview import publish


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_published_book_is_never_written_by_the_next_build(tmp_path):
    staging, out = tmp_path / "staging", tmp_path / "out"
    (staging / "html" / "sub").mkdir(parents=True)
    (staging / "pdf").mkdir()
    pages = {"html/index.html": "首页", "html/sub/page.html": "一页", "pdf/book.pdf": "%PDF"}
    for name, text in pages.items():
        (staging / name).write_text(text, encoding="utf-8")
    editions = {"html": staging / "html", "pdf": staging / "pdf"}
    publish.publish(editions, out, "first")
    assert _tree((out / "html").resolve()) == _tree(staging / "html")
    (staging / "html" / "sub" / "page.html").write_text("二页", encoding="utf-8")
    publish.publish(editions, out, "second")
    assert (out / "html" / "sub" / "page.html").read_text(encoding="utf-8") == "二页"
    assert [p.name for p in (out / publish.PUBLISHED).iterdir()] == ["second"]

    # the next build writes its staging files in place: what is published must not follow
    for name in pages:
        with open(staging / name, "w", encoding="utf-8") as f:
            f.write("改写")
    assert (out / "html" / "index.html").read_text(encoding="utf-8") == "首页"
    assert (out / "html" / "sub" / "page.html").read_text(encoding="utf-8") == "二页"
    assert (out / "pdf" / "book.pdf").read_text(encoding="utf-8") == "%PDF"


def test_a_download_zip_is_the_same_bytes_from_the_same_members(tmp_path, monkeypatch):
    import zipfile

    from zzreview.downloads.zips import write_zip

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    members = {"b.svg": b"<svg/>", "a.csv": "甲,1\n".encode()}
    first = write_zip(tmp_path / "one.zip", members, "fig").read_bytes()
    assert write_zip(tmp_path / "two.zip", dict(reversed(members.items())), "fig").read_bytes() == first
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        assert zf.namelist() == ["fig/a.csv", "fig/b.svg"] and zf.read("fig/a.csv") == "甲,1\n".encode()
        assert {info.date_time for info in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_a_publish_stopped_before_its_swap_leaves_the_published_book(tmp_path, monkeypatch):
    """A build killed while it publishes: up to the one rename that swaps `current`, readers see
    the old pair of editions; the next publish removes what the stopped one left."""
    staging, out = tmp_path / "staging", tmp_path / "out"
    for edition, text in (("html", "旧"), ("pdf", "%PDF-old")):
        (staging / edition).mkdir(parents=True)
        (staging / edition / "page").write_text(text, encoding="utf-8")
    editions = {"html": staging / "html", "pdf": staging / "pdf"}
    publish.publish(editions, out, "old")
    (staging / "html" / "page").write_text("新", encoding="utf-8")

    def stopped(*_):
        raise KeyboardInterrupt  # the build dies here
    monkeypatch.setattr(publish, "_link", stopped)
    try:
        publish.publish(editions, out, "new")
    except KeyboardInterrupt:
        pass
    assert (out / "html" / "page").read_text(encoding="utf-8") == "旧"
    assert (out / "pdf" / "page").read_text(encoding="utf-8") == "%PDF-old"
    monkeypatch.undo()
    publish.cleanup(out)
    assert [p.name for p in (out / publish.PUBLISHED).iterdir()] == ["old"]
    publish.publish(editions, out, "newer")
    assert (out / "html" / "page").read_text(encoding="utf-8") == "新"
