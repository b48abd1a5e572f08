#!/usr/bin/env bash
# get_digits.sh [OUT_CSV] — the UCI optical-recognition digits (1797 images of 8 x 8
# pixels, 10 classes) as a CSV that bptt reads; default models/data/digits.csv.
#
# The images come from Debian's python3-sklearn package, which ships them as
# .../sklearn/datasets/data/digits.csv.gz: 1797 rows of 65 integer cells, the 64 pixel
# values (0..16, row-major: image row 0 columns 0..7, then row 1, ...) and then the label
# (0..9). The package is fetched with `apt-get download` into a temporary directory and
# unpacked there with `dpkg-deb -x`: nothing is installed and no Python runs. (If the
# package is installed already, its file is used directly.)
#
# The CSV written, in the UCR layout (one sequence per row, no header):
#   cells 1..64 = pixel / 16 (exact in binary: 0, 0.0625, ..., 1), cell 65 = the LABEL
#   (the last column: data.label: last). With data.features: 8 a row is T = 8 steps of
#   I = 8 pixels (one image row per step); with data.features: 1, T = 64 steps of 1 pixel.
# The rows keep the package's order, so data.valid_last: 297 always holds out the same
# 297 images.
#
# Idempotent: an OUT_CSV that already holds 1797 complete rows is left alone. Exits 1
# with a one-line message when the package cannot be obtained (no apt, no network).
set -euo pipefail
export LC_ALL=C

ROWS=1797
CELLS=65
MEMBER=usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz

out=${1:-$(cd "$(dirname "$0")/.." && pwd)/models/data/digits.csv}
die() { echo "get_digits.sh: $*" >&2; exit 1; }

# complete FILE: FILE holds ROWS rows of CELLS cells, pixels in [0, 1], labels 0..9
complete() {
    [ -s "$1" ] && awk -F, -v rows=$ROWS -v cells=$CELLS '
        NF != cells || $cells !~ /^[0-9]$/ { exit 1 }
        { for (i = 1; i < cells; i++) if ($i !~ /^[0-9.]+$/ || $i + 0 > 1) exit 1 }
        END { exit NR != rows }' "$1"
}

if complete "$out"; then
    echo "get_digits.sh: $out is there ($ROWS rows)"
    exit 0
fi

mkdir -p "$(dirname "$out")" || die "cannot create the directory of $out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bptt_digits_XXXXXX")
trap 'rm -rf "$tmp"' EXIT

gz=/$MEMBER
if [ ! -f "$gz" ]; then
    command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
        die "cannot obtain python3-sklearn: apt-get and dpkg-deb are needed (a Debian or Ubuntu system)"
    chmod 755 "$tmp" # so that apt's unprivileged _apt user may write the download there
    fetch() { (cd "$tmp" && apt-get download python3-sklearn) >"$tmp/apt.log" 2>&1; }
    if ! fetch; then
        # a fresh machine has no package lists yet: update them once, when we may
        [ "$(id -u)" = 0 ] && apt-get update >>"$tmp/apt.log" 2>&1 && fetch ||
            die "cannot download python3-sklearn with apt-get (no network or no package lists; run 'apt-get update' as root): $(grep -m1 -E '^(E|W):' "$tmp/apt.log" || tail -n 1 "$tmp/apt.log")"
    fi
    deb=$(ls "$tmp"/python3-sklearn_*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || die "apt-get download python3-sklearn left no .deb in $tmp"
    dpkg-deb -x "$deb" "$tmp/pkg" || die "dpkg-deb -x $deb failed"
    gz=$tmp/pkg/$MEMBER
    [ -f "$gz" ] || die "$(basename "$deb") holds no $MEMBER"
fi

# 64 pixels (integers 0..16) then the label, per row; checked, then pixels scaled by 1/16
gzip -dc "$gz" | tr -d '\r' | awk -F, -v cells=$CELLS '
    NF != cells { printf "row %d has %d cells, not %d\n", NR, NF, cells > "/dev/stderr"; exit 1 }
    {
        if ($cells !~ /^[0-9](\.0*)?$/) { printf "row %d: label %s\n", NR, $cells > "/dev/stderr"; exit 1 }
        line = ""
        for (i = 1; i < cells; i++) {
            if ($i !~ /^[0-9]+(\.0*)?$/ || $i + 0 > 16) {
                printf "row %d, cell %d: pixel %s\n", NR, i, $i > "/dev/stderr"; exit 1
            }
            line = line sprintf("%g,", $i / 16)
        }
        print line int($cells)
    }' >"$tmp/digits.csv" || die "$gz is not the expected 1797 x (64 pixels + label)"
complete "$tmp/digits.csv" || die "$gz does not hold $ROWS rows of 64 pixels and a label"
mv -f "$tmp/digits.csv" "$out.tmp.$$" && mv -f "$out.tmp.$$" "$out" || die "cannot write $out"
echo "get_digits.sh: wrote $out ($ROWS rows: 64 pixels in [0, 1], then the label)"
