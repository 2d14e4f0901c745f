#!/bin/sh
# Removes a file a step wrote (the uninstall script removes /etc/rancher/k3s as a whole).
: "${path:?}"

rm -f "$path"
