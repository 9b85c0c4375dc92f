import hashlib
import json

import pytest

from conftest import REPO
from zzreview.newspaper import source
from zzreview.dataset import validate

SOURCE = REPO / "data" / "source" / "000_29b51da462fdfb9d.txt"


def test_hash_recorded_in_data_package_matches_file():
    dp = json.loads((REPO / "data" / "datapackage.json").read_text(encoding="utf-8"))
    res = next(r for r in dp["resources"] if r["name"] == "source-page")
    assert res["hash"] == "sha256:" + hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    assert (REPO / "data" / res["path"]).resolve() == SOURCE.resolve()


@pytest.mark.guarantee
def test_source_is_the_page_as_received():
    seed = REPO.parent / "shared" / "seed" / SOURCE.name
    if not seed.exists():
        pytest.skip(f"the received copy {seed} is not beside this checkout")
    assert SOURCE.read_bytes() == seed.read_bytes()


def test_altered_source_is_refused(data_copy):
    path = data_copy / "source" / SOURCE.name
    path.write_bytes(path.read_bytes().replace("252".encode(), "253".encode(), 1))
    problems = validate.problems()
    assert len(problems) == 1
    assert "sha256" in problems[0].reason and SOURCE.name in problems[0].file
    with pytest.raises(Exception, match="sha256"):
        source.raw_text()
