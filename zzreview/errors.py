"""One error type for bad input: it names the file, row and column, says why, and hints at a fix.
The build prints these one per line and stops before any chapter executes.

Every message is in Chinese, in one form: `文件，第 N 行，列名 列：原因（提示：……）`; the row and
column parts appear only when known (column names are the files' own headers)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    reason: str
    row: int | None = None  # line number in the file (the header of a CSV is line 1)
    column: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f"，第 {self.row} 行"
        if self.column:
            where += f"，{self.column} 列"
        text = f"{where}：{self.reason}"
        if self.hint:
            text += f"（提示：{self.hint}）"
        return text


class DataError(Exception):
    """Raised with every problem found, so one run reports them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def _render_traceback_(self) -> list[str]:
        """In a notebook (IPython), the problems as the build prints them, not a traceback:
        the reader's next step is in the data file, not in the package's code."""
        return [f"输入数据有 {len(self.problems)} 处问题，本格已停止："] + \
            [f"  - {p}" for p in self.problems]
