#!/usr/bin/env bash
# Install what the book needs, and only what is missing:
#   Debian packages (scripts/debian-packages.txt) through apt-get, with sudo when not root;
#   the pinned Python packages (requirements.txt) into ./.venv.
# `--tests` adds the packages the test command needs. Safe to run again: it checks before it
# installs, and redoes a .venv that an interrupted run left half made. Used by build.sh and test.sh.
# Each failure it can foresee ends in one line saying what is missing and what to do.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "setup: $*" >&2; exit 1; }
now() { date +%s; }

with_tests=0
extra=()
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    *) extra+=("$arg") ;;  # more Debian packages, by name
  esac
done

# --- Python: the floor is pyproject.toml's requires-python (">=X.Y.Z"), its one statement ----------
floor=$(sed -n 's/^requires-python *= *">=\([0-9.]*\)".*/\1/p' pyproject.toml)
[ -n "$floor" ] || die "pyproject.toml 中没有 requires-python = \">=X.Y.Z\" 这一行"
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || die "本机没有 '$PYTHON'：请安装 Python $floor 或更新版本（Debian：apt-get install python3 python3-venv），或设置 PYTHON=/path/to/python3"
"$PYTHON" - "$floor" <<'PY' || die "需要 Python $floor 或更新版本，'$PYTHON' 是 $("$PYTHON" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo 不详)（可设置 PYTHON=/path/to/python3.x 换用另一个）"
import sys
sys.exit(sys.version_info[:3] < tuple(int(x) for x in sys.argv[1].split(".")))
PY

# --- Debian packages ----------------------------------------------------------------------------
wanted=()
while read -r name cmd _; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ "$cmd" = build ] || { [ "$cmd" = test ] && [ $with_tests = 1 ]; }; then wanted+=("$name"); fi
done < scripts/debian-packages.txt
wanted+=(${extra[@]+"${extra[@]}"})

venv_ok() {  # a usable .venv: its Python runs, is new enough, and has pip
  [ -x .venv/bin/python ] && [ ! -e .venv/.installing ] && .venv/bin/python - "$floor" <<'PY' 2>/dev/null
import sys, pip  # noqa: F401
sys.exit(sys.version_info[:3] < tuple(int(x) for x in sys.argv[1].split(".")))
PY
}

missing=()
if command -v dpkg-query >/dev/null; then
  for entry in "${wanted[@]}"; do
    pkg=${entry%%:*} tool=${entry#*:}
    [ "$tool" != "$entry" ] && command -v "$tool" >/dev/null && continue  # name:tool, and tool is there
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  # Debian's python3 makes a venv without pip until python3-venv is installed
  if ! venv_ok && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=("python3-venv")
  fi
elif [ "${ZZREVIEW_SKIP_APT:-0}" != 1 ]; then
  die "这不是 Debian 或 Ubuntu（没有 dpkg/apt-get）：请自行安装与 ${wanted[*]} 相当的软件包（见 scripts/debian-packages.txt），再以 ZZREVIEW_SKIP_APT=1 重新运行"
fi

if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "缺少 Debian 软件包 ${missing[*]}，本机又没有 apt-get：请用本机的包管理器安装（用途见 scripts/debian-packages.txt）"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "缺少 Debian 软件包 ${missing[*]}；当前用户不是 root，也没有安装 sudo：请以 root 运行 apt-get install --no-install-recommends ${missing[*]}"
    SUDO=(sudo)
  fi
  started=$(now)
  echo "setup: 正在安装 Debian 软件包：${missing[*]}" >&2
  "${SUDO[@]}" apt-get update -qq >&2 || die "apt-get update 失败：连不上 Debian 软件包仓库，或 apt 被占用；请检查网络（或代理）后重新运行"
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get 无法安装 ${missing[*]}（见上方 apt-get 的信息）；解决后重新运行"
  echo "setup: 已安装 ${#missing[@]} 个 Debian 软件包，用时 $(( $(now) - started )) 秒" >&2
fi

# --- Python packages into .venv -----------------------------------------------------------------
# .venv/.installing exists from the start of an install until it succeeded: if it is still there,
# an earlier run was interrupted and the environment cannot be trusted, so it is made anew.
if [ -e .venv ] && ! venv_ok; then
  echo "setup: .venv 不完整（上次安装被打断，或由另一个 Python 创建）：重新创建" >&2
  rm -rf .venv
fi
stamp=.venv/.installed-requirements
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  started=$(now)
  if [ ! -x .venv/bin/python ]; then
    echo "setup: 用 $("$PYTHON" -c 'import sys; print(sys.executable)') 创建 .venv" >&2
    "$PYTHON" -m venv .venv || { rm -rf .venv; die "无法用 $PYTHON 创建 .venv（Debian：apt-get install python3-venv）"; }
  fi
  touch .venv/.installing
  echo "setup: 正在向 .venv 安装 Python 包" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt >&2 \
    || die "pip 无法安装 requirements.txt（连不上 PyPI，或某个包没有适合这个 Python 的版本；见上方 pip 的信息）；解决后重新运行，下次会重新创建环境"
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . >&2 \
    || die "pip 无法安装 zzreview 程序包本身（见上方信息）"
  echo "$want" > "$stamp"
  rm -f .venv/.installing
  echo "setup: Python 包安装完毕，用时 $(( $(now) - started )) 秒" >&2
fi

# --- Checkers the tests run, from the npm registry (pinned in tools/package-lock.json) ----------
# --ignore-scripts: vnu-jar's install script would download a Java runtime; Debian's is used.
if [ $with_tests = 1 ]; then
  want_tools=$(sha256sum tools/package-lock.json | cut -d' ' -f1)
  if [ "$(cat tools/node_modules/.installed-lock 2>/dev/null)" != "$want_tools" ]; then
    started=$(now)
    (cd tools && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
      || die "npm 无法安装 tools/package.json 中的测试工具（连不上 npm 仓库？）；解决后重新运行"
    echo "$want_tools" > tools/node_modules/.installed-lock
    echo "setup: npm 测试工具安装完毕，用时 $(( $(now) - started )) 秒" >&2
  fi
fi
