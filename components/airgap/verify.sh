#!/bin/sh
# Copies each staged file into root's own directory, checks the copy against the sha256 from the
# stack config, and keeps it only when it matches: the install step uses only verified files.
#
# Parameters: staging, verified (the two dirs); files (one "<name> <sha256> <config key>" line per
# file; names are shell-safe, validated).
: "${staging:?}" "${verified:?}" "${files:?}"

install -d -m 0700 -o root -g root "$verified"
verify_staged() {
  name=$1; sum=$2; key=$3
  [ -f "$staging/$name" ] || { log "$staging/$name is missing: the copy step did not run"; exit 1; }
  tmp=$(mktemp "$verified/.$name.XXXXXX")
  cp "$staging/$name" "$tmp"
  actual=$(sha256sum "$tmp" | awk '{print $1}')
  if [ "$actual" != "$sum" ]; then
    rm -f "$tmp"
    log "$name: sha256 on this host is $actual, $key says $sum; refusing to use it"; exit 1
  fi
  chmod 0700 "$tmp"; mv -f "$tmp" "$verified/$name"
  log "$name: sha256 verified"
}
printf '%s\n' "$files" | while read -r name sum key; do
  if [ -n "$name" ]; then verify_staged "$name" "$sum" "$key"; fi
done
