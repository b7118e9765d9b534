#!/usr/bin/env bash
# ensure-python-peer-trixie.sh: make sure the second real Python peer of the
# tests, Debian trixie's python3-oslo.messaging (16.1.0), is unpacked where
# the tests look for it (test/pypeer: PeerTrixie), and print that directory.
#
#   already unpacked        -> print the directory, exit 0 (no network)
#   apt-get and dpkg here   -> apt-get download it from trixie, dpkg -x it
#   otherwise               -> say what to do, exit 1
#
# The package is pure Python and imports on bookworm's own dependencies, so
# it runs under /usr/bin/python3 with PYTHONPATH=<dir>/usr/lib/python3/dist-packages.
# Nothing is installed and the system's apt sources and lists stay as they
# are: the trixie source list is written like the machine's own Debian entry
# (same URIs and Signed-By, suite trixie) into a private apt state directory.
#
# Environment: OSLOHOST_PEER_TRIXIE overrides the directory (default
# <repo>/.cache/python-peer-trixie, ignored by git).
set -euo pipefail

PKG=python3-oslo.messaging
WANT=16.1.0
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${OSLOHOST_PEER_TRIXIE:-$repo/.cache/python-peer-trixie}"
site="$dest/usr/lib/python3/dist-packages"

say() { echo "ensure-python-peer-trixie: $*" >&2; }

have() {
	compgen -G "$site/oslo.messaging-$WANT*" >/dev/null && [[ -d "$site/oslo_messaging" ]]
}

if have; then
	echo "$dest"
	exit 0
fi

for tool in apt-get dpkg; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		say "needs $tool (a Debian or Ubuntu machine) to fetch $PKG $WANT from trixie"
		exit 1
	fi
done

# The machine's own Debian entry: the first deb822 stanza (or one-line
# "deb" entry) whose URI ends in /debian. Its URIs and Signed-By are reused.
uri="" keyring=""
for f in /etc/apt/sources.list.d/*.sources; do
	[[ -e "$f" ]] || continue
	read -r uri keyring < <(awk '
		BEGIN { RS = ""; FS = "\n" }
		{
			u = ""; k = "";
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/)      { sub(/^URIs:[ \t]*/, "", $i); split($i, a, /[ \t]+/); u = a[1] }
				if ($i ~ /^Signed-By:/) { sub(/^Signed-By:[ \t]*/, "", $i); k = $i }
			}
			if (u ~ /\/debian\/?$/) { print u, k; exit }
		}' "$f") || true
	[[ -n "$uri" ]] && break
done
if [[ -z "$uri" ]]; then
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -e "$f" ]] || continue
		uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }' "$f")
		[[ -n "$uri" ]] && break
	done
fi
if [[ -z "$uri" ]]; then
	say "no Debian source entry (a URI ending in /debian) in /etc/apt/sources.list*; cannot fetch $PKG $WANT"
	exit 1
fi
keyring="${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}"

apt="$dest.apt"
rm -rf "$apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d" "$apt/download"
cat >"$apt/sources.list.d/trixie.sources" <<SRC
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: $keyring
SRC
opts=(
	-o "Dir::State=$apt"
	-o "Dir::State::Lists=$apt/lists"
	-o "Dir::State::status=/var/lib/dpkg/status"
	-o "Dir::Cache=$apt/cache"
	-o "Dir::Etc::SourceList=/dev/null"
	-o "Dir::Etc::SourceParts=$apt/sources.list.d"
	-o "APT::Sandbox::User=$(id -un)"
	-o "Debug::NoLocking=1"
	-q
)
say "fetching $PKG $WANT from $uri trixie (private apt state in $apt)"
apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; say "apt-get update of the trixie list failed"; exit 1; }
(cd "$apt/download" && apt-get "${opts[@]}" download "$PKG" >"$apt/download.log" 2>&1) ||
	{ cat "$apt/download.log" >&2; say "apt-get download $PKG failed"; exit 1; }
deb=$(ls "$apt/download/"*.deb)
version=$(dpkg-deb -f "$deb" Version)
case "$version" in
"$WANT"*) ;;
*)
	say "trixie has $PKG $version, the tests want $WANT"
	exit 1
	;;
esac
tmp="$dest.tmp"
rm -rf "$tmp"
dpkg -x "$deb" "$tmp"
rm -rf "$dest"
mv "$tmp" "$dest"
rm -rf "$apt"
if ! have; then
	say "unpacked $deb but $site has no oslo_messaging $WANT"
	exit 1
fi
if ! PYTHONPATH="$site" /usr/bin/python3 -c 'import oslo_messaging' >/dev/null 2>&1; then
	say "unpacked $PKG $version to $dest, but /usr/bin/python3 cannot import it:"
	PYTHONPATH="$site" /usr/bin/python3 -c 'import oslo_messaging' >&2 || true
	exit 1
fi
say "unpacked $PKG $version to $dest"
echo "$dest"
