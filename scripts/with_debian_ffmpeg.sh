#!/usr/bin/env bash
# Runs a command as if Debian's `ffmpeg` package were installed, without installing it: the package and the
# libraries it needs that this machine lacks are downloaded (apt-get download, no root needed) and unpacked
# into $SYSFFMPEG_DIR (default /tmp/sysffmpeg); bin/ffmpeg and bin/ffprobe there set LD_LIBRARY_PATH for
# themselves only and exec Debian's binaries; the command runs with that bin/ first on PATH.
#
#     scripts/with_debian_ffmpeg.sh make test        # the suite with a "system" ffmpeg on PATH
#     scripts/with_debian_ffmpeg.sh                  # set up only, and print the PATH to use
#
# Neither `make run` nor `make test` needs this: it checks that nothing depends on which ffmpeg is on PATH.
set -euo pipefail
root="${SYSFFMPEG_DIR:-/tmp/sysffmpeg}"

if [ ! -x "$root/bin/ffmpeg" ]; then
    mkdir -p "$root/debs"
    # What `apt-get install ffmpeg` would install here (without recommends): ffmpeg and its missing libraries.
    mapfile -t packages < <(apt-get install --simulate --no-install-recommends ffmpeg 2>/dev/null | awk '/^Inst /{print $2}')
    if [ ${#packages[@]} -eq 0 ]; then
        echo "error: apt-get lists nothing to install for ffmpeg (already installed, or run apt-get update)" >&2
        exit 1
    fi
    (cd "$root/debs" && apt-get download -qq "${packages[@]}")
    for deb in "$root"/debs/*.deb; do
        dpkg-deb -x "$deb" "$root"
    done
    # Every unpacked folder holding shared libraries (blas and lapack live in their own, as alternatives).
    libs="$(find "$root/usr/lib" -name '*.so*' -printf '%h\n' | sort -u | paste -sd: -)"
    mkdir -p "$root/bin"
    for tool in ffmpeg ffprobe; do
        cat >"$root/bin/$tool" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$root/usr/bin/$tool" "\$@"
EOF
        chmod +x "$root/bin/$tool"
    done
fi

"$root/bin/ffmpeg" -hide_banner -version | head -1 >&2
if [ $# -eq 0 ]; then
    echo "PATH=$root/bin:\$PATH"
    exit 0
fi
PATH="$root/bin:$PATH" exec "$@"
