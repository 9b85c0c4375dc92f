"""ZIP files that two builds write byte for byte the same."""
from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

ZIP_EPOCH = 315532800  # 1980-01-01: the first date a ZIP can hold


def _zip_time() -> tuple:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or ZIP_EPOCH)
    return dt.datetime.fromtimestamp(max(epoch, ZIP_EPOCH), dt.timezone.utc).timetuple()[:6]


def write_zip(target: Path, members: dict[str, bytes], root: str) -> Path:
    """The members under one folder `root`: sorted names, one date (SOURCE_DATE_EPOCH), fixed modes."""
    when = _zip_time()
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(f"{root}/{name}", date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever builds it
            zf.writestr(info, members[name], compresslevel=9)
    os.replace(tmp, target)  # readers never see a half-written ZIP
    return target
