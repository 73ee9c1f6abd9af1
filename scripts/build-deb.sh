#!/usr/bin/env bash
# The second half of `make deb`: turns ROOT, the tree `make install` put there
# with Debian's directories (PREFIX=/usr), into OUTDIR/breaker-run_VERSION_ARCH.deb
# with Debian's own tools: dpkg-shlibdeps computes Depends from the binaries,
# dpkg-gencontrol writes DEBIAN/control from packaging/deb/control and the
# changelog, dpkg-deb builds the archive owned by root. The maintainer
# scripts, copyright, changelog and lintian overrides are in packaging/deb.
#
#   scripts/build-deb.sh ROOT OUTDIR
set -euo pipefail
(($# == 2)) || { echo "usage: $0 ROOT OUTDIR" >&2; exit 64; }
root=$(realpath "$1")
out=$(realpath -m "$2")
packaging=$(realpath "$(dirname "$0")/../packaging/deb")
package=breaker-run
doc=$root/usr/share/doc/$package

# Version: the binary's own (breaker-run --version), which the changelog's
# latest entry must name, as dpkg-gencontrol takes it from there.
version=$("$root/usr/bin/breaker-run" --version)
changelog_version=$(dpkg-parsechangelog -l "$packaging/changelog" -S Version)
if [[ "$version" != "$changelog_version" ]]; then
    echo "breaker-run --version says $version, packaging/deb/changelog's latest entry $changelog_version:" \
        "add an entry for $version (dch -c packaging/deb/changelog -v $version)" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)
# Timestamps of the archive's members from the changelog, for a reproducible
# package (dpkg-deb(1), SOURCE_DATE_EPOCH).
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$packaging/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH

# The state directory is made by postinst, once the group breaker-run exists.
rm -rf "$root/var"
# The packaged tmpfiles snippet (make install's packaging/breaker-run.tmpfiles)
# must say what postinst makes, root:breaker-run 2770: systemd-tmpfiles
# applies it at boot and would otherwise reset the directory.
if ! grep -Eq '^d[[:space:]]+/var/lib/breaker-run[[:space:]]+2770[[:space:]]+root[[:space:]]+breaker-run([[:space:]]|$)' \
        "$root/usr/lib/tmpfiles.d/breaker-run.conf"; then
    echo "usr/lib/tmpfiles.d/breaker-run.conf does not make /var/lib/breaker-run 2770 root:breaker-run, as postinst does" >&2
    exit 1
fi
# A bash completion is sourced, never run: no #! line (lintian's
# bash-completion-with-hashbang).
sed -i '1{/^#!/d}' "$root/usr/share/bash-completion/completions/$package"

# Binaries stripped as dh_strip does (Policy 10.1); the debug information
# stays in the release build's binaries.
strip --remove-section=.comment --remove-section=.note \
    "$root/usr/bin/breaker-run" "$root/usr/libexec/breaker-run/breaker-run-full"

# Man pages and the changelog compressed with gzip -9n (Policy 12.1, 12.7),
# copyright uncompressed (Policy 12.5). The package is native (its version is
# breaker-run --version's, with no Debian revision), so its one changelog is
# changelog.gz, not changelog.Debian.gz (Policy 12.7).
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9nf {} +
install -d -m 0755 "$doc" "$root/usr/share/lintian/overrides"
install -m 0644 "$packaging/copyright" "$doc/copyright"
gzip -9nc "$packaging/changelog" > "$doc/changelog.gz"
install -m 0644 "$packaging/lintian-overrides" "$root/usr/share/lintian/overrides/$package"
# Directories 0755, files 0644 or, when executable, 0755 (as dh_fixperms).
chmod -R u=rwX,go=rX "$root"

# The Debian tools read debian/control and debian/changelog of a source
# tree: a minimal one beside the package.
source=$out/source
rm -rf "$source" "$root/DEBIAN"
install -d "$source/debian" "$root/DEBIAN"
cp "$packaging/control" "$packaging/changelog" "$source/debian/"
cd "$source"
: > debian/substvars
# Depends: the full binary links glibc, libstdc++, libyaml and zlib
# dynamically (zlib because swift-nio-extras asks for -lz, though it compiles
# in a renamed copy of its own: dpkg-shlibdeps warns that no symbol of
# libz.so.1 is used, and keeps the dependency); the core is a static PIE, in
# which dpkg-shlibdeps finds none.
dpkg-shlibdeps -Tdebian/substvars -e"$root/usr/libexec/breaker-run/breaker-run-full" -e"$root/usr/bin/breaker-run"
# Built-Using: the Debian sources whose static libraries are inside the core
# (Policy 7.8).
built_using=()
for archive in libc.a libstdc++.a libyaml.a; do
    path=$(realpath "$("${CC:-cc}" -print-file-name="$archive")")
    owner=$(dpkg-query -S "$path" | cut -d: -f1)
    built_using+=("$(dpkg-query -W -f='${source:Package} (= ${source:Version})' "$owner")")
done
{
    echo "misc:Depends="
    echo "misc:Built-Using=$(IFS=,; echo "${built_using[*]}" | sed 's/,/, /g')"
} >> debian/substvars
dpkg-gencontrol -p"$package" -P"$root" -Tdebian/substvars -fdebian/files

# Every file in /etc is a conffile (Policy 10.7.2); md5sums lists the others,
# as dh_md5sums does (dpkg keeps the conffiles' sums itself).
(cd "$root" && find etc -type f -printf '/%p\n' | LC_ALL=C sort) > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' \
    | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
install -m 0755 "$packaging/postinst" "$packaging/postrm" "$root/DEBIAN/"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb=$out/${package}_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb"
