#!/bin/sh
# Removes a directory the air-gap steps made (the staging dir, or the verified copies).
: "${dir:?}"

rm -rf "$dir"
