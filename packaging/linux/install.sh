#!/usr/bin/env bash
# Install Hearth's desktop entry, AppStream metadata, icons and a `hearth` launcher for
# the current user (or under $PREFIX), no root needed. Two homes for it:
#
#   in the unpacked tarball, as ./install-desktop-entry: the launcher runs the bundle beside it
#   in a checkout, as packaging/linux/install.sh: the launcher runs the checkout's .venv
#       make run                             # once: creates .venv with everything installed
#       packaging/linux/install.sh           # installs into ~/.local
#       PREFIX=/usr/local sudo -E packaging/linux/install.sh
#   either one with --uninstall removes what it installed.
#
# Installs:
#   $PREFIX/bin/hearth                                          launcher -> the bundle or .venv
#   $PREFIX/share/applications/io.hearth.Hearth.desktop
#   $PREFIX/share/metainfo/io.hearth.Hearth.metainfo.xml
#   $PREFIX/share/icons/hicolor/scalable/apps/io.hearth.Hearth.svg
#   $PREFIX/share/icons/hicolor/256x256/apps/io.hearth.Hearth.png
set -euo pipefail

APP_ID=io.hearth.Hearth
MARKER="# Hearth launcher, written by packaging/linux/install.sh"

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
if [[ -f $here/hearth && -d $here/_internal ]]; then
    # The unpacked tarball: hearth + _internal/ (PyInstaller), entry files in share/.
    home=$here
    target=$here/hearth
    entry_dir=$here/share
    icon_dir=$here/_internal/assets/icons
    self=$here/${BASH_SOURCE[0]##*/}
    before="keep this folder where it is (run this again after moving it)"
else
    home=$(cd -- "$here/../.." && pwd -P)
    target=$home/.venv/bin/hearth
    entry_dir=$here
    icon_dir=$home/assets/icons
    self=$here/install.sh
    before="run 'make run' in $home first"
fi
prefix=${PREFIX:-$HOME/.local}
bindir=$prefix/bin
datadir=$prefix/share

launcher=$bindir/hearth
desktop_file=$datadir/applications/$APP_ID.desktop
metainfo_file=$datadir/metainfo/$APP_ID.metainfo.xml
icon_svg=$datadir/icons/hicolor/scalable/apps/$APP_ID.svg
icon_png=$datadir/icons/hicolor/256x256/apps/$APP_ID.png

usage() {
    cat <<EOF
Usage: ${0##*/} [--uninstall] [--force]

Installs the Hearth desktop entry, metadata, icons and a 'hearth' launcher into
\${PREFIX:-\$HOME/.local} (now: $prefix). The launcher runs $target:
$before.

  --uninstall   remove what this script installed
  --force       replace an existing $launcher that this script did not write
  -h, --help    show this help
EOF
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

# Quote a string for a POSIX shell: 'it'\''s'.
sh_quote() {
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

# Quote a path for a desktop entry's Exec key (see "The Exec key" in the Desktop Entry spec):
# reserved characters mean double quotes, inside which " ` $ \ take a backslash; % is
# doubled; then every backslash is doubled again for the general string escaping.
exec_quote() {
    local s=$1 reserved='[][:space:]"'"'"'\\`$<>~|&;*?#()[]'
    s=${s//%/%%}
    if [[ $s =~ $reserved ]]; then
        s=${s//\\/\\\\}
        s=${s//\"/\\\"}
        s=${s//\`/\\\`}
        s=${s//\$/\\\$}
        s="\"$s\""
    fi
    printf '%s' "${s//\\/\\\\}"
}

is_our_launcher() {
    [[ -f $1 ]] && grep -qxF -- "$MARKER" "$1"
}

# Desktops watch these folders themselves; caches are only kept current where they exist
# (creating an icon cache in ~/.local would hide icons that other programs add later).
refresh_caches() {
    if [[ -f $datadir/applications/mimeinfo.cache ]] && command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$datadir/applications" 2>/dev/null || true
    fi
    if [[ -f $datadir/icons/hicolor/icon-theme.cache ]] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f "$datadir/icons/hicolor" 2>/dev/null || true
    fi
}

uninstall() {
    local f
    for f in "$desktop_file" "$metainfo_file" "$icon_svg" "$icon_png"; do
        if [[ -e $f ]]; then
            rm -f -- "$f"
            echo "removed $f"
        fi
    done
    if is_our_launcher "$launcher"; then
        rm -f -- "$launcher"
        echo "removed $launcher"
    elif [[ -e $launcher ]]; then
        echo "kept $launcher: it was not written by this script" >&2
    fi
    refresh_caches
    echo "Hearth's desktop integration is uninstalled ($home and your data are untouched)."
}

install_all() {
    local force=$1
    [[ -x $target ]] || die "$target not found: $before"
    for f in "$APP_ID.desktop" "$APP_ID.metainfo.xml"; do
        [[ -f $entry_dir/$f ]] || die "missing $entry_dir/$f"
    done
    for f in hearth.svg hearth-256.png; do
        [[ -f $icon_dir/$f ]] || die "missing $icon_dir/$f"
    done
    if [[ -e $launcher ]] && ! is_our_launcher "$launcher" && [[ $force != yes ]]; then
        die "$launcher exists and was not written by this script (use --force to replace it)"
    fi

    mkdir -p -- "$bindir"
    local tmp
    tmp=$(mktemp "$bindir/.hearth.XXXXXX")
    {
        echo '#!/bin/sh'
        echo "$MARKER"
        echo "# (remove it with: $(sh_quote "$self") --uninstall)"
        echo "exec $(sh_quote "$target") \"\$@\""
    } >"$tmp"
    chmod 755 -- "$tmp"
    mv -f -- "$tmp" "$launcher"
    echo "installed $launcher"

    # The session's PATH may not include $bindir, so the menu entry uses the full path.
    local exec_value
    exec_value=$(exec_quote "$launcher")
    mkdir -p -- "$(dirname -- "$desktop_file")"
    tmp=$(mktemp "$(dirname -- "$desktop_file")/.$APP_ID.XXXXXX")
    while IFS= read -r line || [[ -n $line ]]; do
        case $line in
            Exec=*) printf 'Exec=%s\n' "$exec_value" ;;
            TryExec=*) printf 'TryExec=%s\n' "${launcher//\\/\\\\}" ;;
            *) printf '%s\n' "$line" ;;
        esac
    done <"$entry_dir/$APP_ID.desktop" >"$tmp"
    chmod 644 -- "$tmp"
    mv -f -- "$tmp" "$desktop_file"
    echo "installed $desktop_file"

    install -D -m 644 -- "$entry_dir/$APP_ID.metainfo.xml" "$metainfo_file"
    echo "installed $metainfo_file"
    install -D -m 644 -- "$icon_dir/hearth.svg" "$icon_svg"
    echo "installed $icon_svg"
    install -D -m 644 -- "$icon_dir/hearth-256.png" "$icon_png"
    echo "installed $icon_png"

    refresh_caches
    case ":$PATH:" in
        *":$bindir:"*) ;;
        *) echo "note: $bindir is not on your PATH; the menu entry works, the 'hearth' command needs it" ;;
    esac
    echo "Hearth is installed: look for it in your application menu."
}

action=install
force=no
for arg in "$@"; do
    case $arg in
        --uninstall) action=uninstall ;;
        --force) force=yes ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
done

if [[ $action == uninstall ]]; then
    uninstall
else
    install_all "$force"
fi
