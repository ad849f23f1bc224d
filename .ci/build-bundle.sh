#!/usr/bin/env bash
# Builds the PyInstaller bundle from build.spec and runs its --self-test, failing on a
# non-zero exit, a missing report line or any stderr line not in the allow-list below.
# Runs inside an activated venv that has the program installed (`.ci/run` provides one);
# pyinstaller goes into that venv. Prints the bundle's size and how long each step took.
set -euo pipefail

cd "$(dirname "$0")/.."
started=$(date +%s)

# Qt's xcb platform plugin links these two; PyInstaller bundles what the build machine
# has, so installing them here makes the Linux bundle carry them instead of asking every
# admin's machine for them. Best effort: without root or apt the bundle still builds.
XCB_PACKAGES=(libxcb-icccm4 libxcb-keysyms1)
if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "== apt-get: ${XCB_PACKAGES[*]}"
    apt-get install -y -qq --no-install-recommends "${XCB_PACKAGES[@]}" >/dev/null \
        || echo "warning: could not install ${XCB_PACKAGES[*]}; the target needs them for xcb"
fi

echo "== pip install pyinstaller into $(python -c 'import sys; print(sys.prefix)')"
python -m pip install -q "pyinstaller>=6.5"

echo "== pyinstaller --noconfirm build.spec"
build_started=$(date +%s)
pyinstaller --noconfirm --log-level WARN build.spec
build_seconds=$(( $(date +%s) - build_started ))

BUNDLE=dist/mailsettings-desktop
EXE="$BUNDLE/mailsettings-desktop"
[[ -x "$EXE" ]] || EXE="$BUNDLE/mailsettings-desktop.exe"

# stderr lines a healthy self-test may print (extended regexps, one per line). Empty today:
# the self-test itself drops Qt's one harmless offscreen message ("This plugin does not
# support propagateSizeHints"). Add a line here only with a comment saying why it is benign.
ALLOWED_STDERR=()

echo "== $EXE --self-test (QT_QPA_PLATFORM=offscreen)"
SCRATCH=$(mktemp -d /tmp/mailsettings-bundle-test.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
test_started=$(date +%s.%N)
status=0
QT_QPA_PLATFORM=offscreen "$EXE" --self-test >"$SCRATCH/stdout" 2>"$SCRATCH/stderr" </dev/null \
    || status=$?
test_seconds=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $test_started }")
cat "$SCRATCH/stdout"

failed=0
if [[ $status -ne 0 ]]; then
    echo "FAIL: the self-test exited with $status" >&2
    failed=1
fi
if ! grep -qE '^self-test ok: qt [0-9.]+, keyring ' "$SCRATCH/stdout" \
        || [[ $(wc -l <"$SCRATCH/stdout") -ne 1 ]]; then
    echo "FAIL: stdout is not exactly one 'self-test ok: ...' line" >&2
    failed=1
fi
while IFS= read -r line; do
    [[ -z "${line// /}" ]] && continue
    allowed=0
    for pattern in "${ALLOWED_STDERR[@]}"; do
        if [[ "$line" =~ $pattern ]]; then
            allowed=1
            break
        fi
    done
    if [[ $allowed -eq 0 ]]; then
        echo "FAIL: unexpected stderr line: $line" >&2
        failed=1
    fi
done <"$SCRATCH/stderr"

echo "== bundle: $(du -sh "$BUNDLE" | cut -f1) in $BUNDLE; pyinstaller ${build_seconds} s," \
     "self-test ${test_seconds} s, whole step $(( $(date +%s) - started )) s"
exit "$failed"
