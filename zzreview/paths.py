"""Where things live. Every path resolves from the package, never from the working directory,
so chapters and notebooks run from anywhere. ZZREVIEW_DATA_DIR points the whole pipeline at
another copy of data/ (tests use it to feed malformed input)."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_out() -> Path:
    """Where `python -m zzreview build` builds and publishes unless told otherwise."""
    return REPO / "_build"


def data_dir() -> Path:
    return Path(os.environ.get("ZZREVIEW_DATA_DIR", REPO / "data")).resolve()


def source_dir() -> Path:
    return data_dir() / "source"


def datapackage_path() -> Path:
    return data_dir() / "datapackage.json"


def metrics_path() -> Path:
    return data_dir() / "metrics.csv"


def exclusions_path() -> Path:
    return data_dir() / "numeral_exclusions.csv"


def changes_path() -> Path:
    return data_dir() / "changes.csv"


def ambiguities_path() -> Path:
    return data_dir() / "ambiguities.csv"


def layout_path() -> Path:
    return source_dir() / "layout.yaml"


def figures_registry_path() -> Path:
    return REPO / "book" / "figures.yaml"


def generated_dir() -> Path:
    """Chart files written while chapters execute; Sphinx copies them into the site. The book's
    extension points this beside the build's output (ZZREVIEW_GENERATED_DIR), so two builds never
    share figure files; an analyst's interactive run writes under _build/generated."""
    return Path(os.environ.get("ZZREVIEW_GENERATED_DIR", default_out() / "generated")).resolve()


# How an executed chapter names a file it drew: the same in every build (and so in a cache copied
# from another build); the Sphinx extension turns it into this build's path as it reads the page.
GENERATED_URI = "zz-generated:"


def generated_uri(path: Path) -> str:
    """`path` (in generated_dir()) as an executed chapter names it."""
    return GENERATED_URI + path.resolve().relative_to(generated_dir()).as_posix()


# Beside a build's output (Sphinx's outdir's parent), what the extension found, for the build script
PROBLEMS = "zz-problems.txt"  # the last run's input problems, one line each


def relpath(path: Path) -> str:
    """A path as users see it in messages: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def config_path() -> Path:
    return REPO / "_config.yml"


def toc_path() -> Path:
    return REPO / "_toc.yml"
