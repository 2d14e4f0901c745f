#!/bin/sh
# Prints the cluster CA's hash as K3s put it into the server token it wrote: K3s writes
# /var/lib/rancher/k3s/server/token in the secure form K10<CA hash>::server:<password>
# (docs.k3s.io cli/token; the hash is the sha256 of the PEM server CA, or of the root's DER with
# custom CAs). Joiners' tokens carry this hash, so they refuse a server whose /cacerts serves
# another CA. The hash is public (anyone can hash /cacerts); the password never leaves the shell
# variable.

token=/var/lib/rancher/k3s/server/token
wait_for 300 "$token" test -s "$token"
full=$(cat "$token")
hash=${full#K10}; hash=${hash%%::*}
case $full in
  K10*::*) ;;
  *) log "$token is not in the secure form K10<CA hash>::server:<password>"; exit 1 ;;
esac
if [ ${#hash} -ne 64 ] || ! printf '%s' "$hash" | grep -Eq '^[0-9a-f]+$'; then
  log "$token holds no sha256 CA hash after K10"; exit 1
fi
printf '%s\n' "$hash"
