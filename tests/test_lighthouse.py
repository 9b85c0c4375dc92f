"""Lighthouse's mobile audit on the front page, the longest chapter and a figure page: accessibility,
best practices and SEO all 100. Performance is a timing: the
benchmark audits every page for it (benchmarks/bench.py --lighthouse)."""
import pytest

from lighthouse import audit, served_compressed

pytestmark = pytest.mark.build

AUDITED = ["book/index.html", "book/review/risk.html", "figures/fig-risk-vehicles.html"]
HELD = ("accessibility", "best-practices", "seo")


@pytest.fixture(scope="module")
def audits(built_site):
    with served_compressed(built_site["html"]) as base:
        return {rel: audit(f"{base}/{rel}", HELD) for rel in AUDITED}


@pytest.mark.parametrize("rel", AUDITED)
def test_lighthouse_finds_nothing_to_mend(audits, rel):
    found = audits[rel]
    assert found["scores"] == {category: 100 for category in HELD}, f"{rel}: {found['scores']}, {found['lost']}"
